#!/bin/bash
# test_sqlite_example.sh - examples/sqlite_metrics.c runs its fixed workload of
# real SQLite statements through the storage helpers; its exposition must hold
# exactly the numbers of that workload: queries per operation, table and status
# (a UNIQUE constraint failure and a select of a missing column as "error"),
# one duration observation per statement, cache hits and misses and size, the
# one-connection pool, and the unregistered "drop" lookup counted, not stored.
# Both formats go through promtool and the Python reference parsers, and a
# database file on disk gives the same numbers (a second run fails its creates).
set -euo pipefail
build=${SONDE_BUILD:?}
bin=$build/examples/sqlite-metrics
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
[ -x "$bin" ] || fail "$bin is not built"
command -v promtool >/dev/null || fail "promtool is not installed"

"$bin" > "$tmp/text" 2> "$tmp/err"
"$bin" --openmetrics > "$tmp/om" 2>/dev/null
promtool check metrics < "$tmp/text" || fail "promtool rejects the text exposition"
# SQLite itself said why the two failing statements failed
grep -q "UNIQUE constraint failed: users.id" "$tmp/err" || fail "no constraint failure from SQLite"
grep -q "no such column: total" "$tmp/err" || fail "no prepare failure from SQLite"
grep -q "orders total: 60" "$tmp/err" || fail "the sum over the orders is not 60"
grep -q "lookup drop/users: label value not in the closed set registered up front" "$tmp/err" ||
  fail "the unregistered lookup was not refused with SONDE_EUNLISTED"

check() { # file, format name, what run (fresh | reused)
/usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families as parse_text
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
path, fmt, run = sys.argv[1:]
body = open(path).read()
fams = list((parse_om if fmt == "om" else parse_text)(body))
ss = {}
for f in fams:
    for s in f.samples:
        ss[(s.name, tuple(sorted(s.labels.items())))] = s.value
def get(name, **labels):
    key = (name, tuple(sorted(labels.items())))
    assert key in ss, "missing %s %s in %s" % (name, labels, fmt)
    return ss[key]

created = "ok" if run == "fresh" else "error"   # a reused file already has its tables
queries = {
    ("create", "users", created): 1, ("create", "orders", created): 1,
    ("insert", "users", "ok"): 5 if run == "fresh" else 0,
    ("insert", "users", "error"): 1 if run == "fresh" else 6,
    ("insert", "orders", "ok"): 3,
    ("select", "users", "ok"): 3,
    ("select", "orders", "error"): 1, ("select", "orders", "ok"): 1,
    ("update", "users", "ok"): 2, ("delete", "orders", "ok"): 1,
}
queries = {k: v for k, v in queries.items() if v}
got = {(dict(l)["operation"], dict(l)["table"], dict(l)["status"]): v
       for (n, l), v in ss.items() if n == "db_queries_total"}
assert got == queries, "db_queries_total %s: %s != %s" % (fmt, got, queries)
# one duration observation per statement, per (operation, table)
per_pair = {}
for (op, table, status), v in queries.items():
    per_pair[(op, table)] = per_pair.get((op, table), 0) + v
for (op, table), n in per_pair.items():
    assert get("db_query_duration_seconds_count", operation=op, table=table) == n, (op, table)
    assert get("db_query_duration_seconds_bucket", operation=op, table=table, le="+Inf") == n
    assert get("db_query_duration_seconds_sum", operation=op, table=table) > 0
assert not any(n == "db_query_duration_seconds_count" and dict(l)["operation"] == "drop"
               for (n, l) in ss), "the refused operation was stored"
assert "drop" not in body.replace('"db_queries"', "")
assert get("cache_hits_total", cache="users_by_id") == 3
assert get("cache_misses_total", cache="users_by_id") == 3
assert get("cache_evictions_total", cache="users_by_id") == 0
assert get("cache_size_items", cache="users_by_id") == 3
assert get("cache_size_bytes", cache="users_by_id") == 24
assert get("db_connections_current", state="idle") == 0
assert get("db_connections_current", state="in_use") == 0
assert get("db_connections_current", state="max") == 1
assert get("sonde_label_rejections_total", metric="db_queries", reason="unregistered") == 1
print("%s %s: every number as the workload made it" % (fmt, run))
PY
}
check "$tmp/text" text fresh
check "$tmp/om" om fresh

# On a file: the first run creates it, the second finds the tables and the ids taken.
"$bin" "$tmp/shop.db" > "$tmp/first" 2>/dev/null
"$bin" "$tmp/shop.db" > "$tmp/second" 2> "$tmp/err2"
grep -q "table users already exists" "$tmp/err2" || fail "the second run did not hit the existing table"
check "$tmp/first" text fresh
check "$tmp/second" text reused
echo "sqlite example: ok"
