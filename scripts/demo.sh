#!/bin/sh
# make demo: start sonde-gateway on its simulated model, drive it with
# sonde-load, and show every 2 s a summary computed from the gateway's own
# /metrics (requests/s, TTFT p50/p95, tokens/s, errors, streams in flight), and
# print the URL of its console (/console/, docs/console.md), live while it runs.
# TTFT comes from the native histogram (a protobuf scrape decoded by
# scripts/native_quantile.py) when the gateway has one, else from the classic
# buckets of the text scrape; the line says which. The sim answers its first
# token after 200 ms +- 5, so the native p50 reads about 200 ms (the classic
# buckets 0.1 and 0.25 would say 175). Ctrl-C stops everything. When stdin is not a
# terminal, or DEMO_SECONDS is set, it runs that long (default 10 s) and exits 0.
# Env: DEMO_PORT (default 8080, the next free one when taken), DEMO_CLIENTS (50),
# BUILD (build directory, default ./build).
set -eu
BUILD=${BUILD:-build}
GW=$BUILD/sonde-gateway
LOAD=$BUILD/sonde-load
[ -x "$GW" ] && [ -x "$LOAD" ] || { echo "demo: build first (make build)" >&2; exit 1; }
PORT=${DEMO_PORT:-8080}
while curl -s -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null; do  # taken: try the next
  PORT=$((PORT + 1))
done
CLIENTS=${DEMO_CLIENTS:-50}
if [ -n "${DEMO_SECONDS:-}" ]; then SECONDS_LEFT=$DEMO_SECONDS
elif [ ! -t 0 ]; then SECONDS_LEFT=10
else SECONDS_LEFT=""; fi

tmp=$(mktemp -d)
gw_pid=""; load_pid=""
stop() {
  trap - INT TERM EXIT
  [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null || true
  [ -n "$gw_pid" ] && kill "$gw_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

"$GW" --port "$PORT" --address 127.0.0.1 --sim-ttft-ms 200 --sim-inter-token-ms 20 \
  --sim-jitter-ms 5 --sim-output-tokens 48 --sim-error-rate 0.02 --trace-profile demo \
  >"$tmp/gateway.log" 2>&1 &
gw_pid=$!
i=0
until curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; do
  i=$((i + 1))
  [ $i -gt 100 ] && { echo "demo: the gateway did not start:" >&2; cat "$tmp/gateway.log" >&2; exit 1; }
  sleep 0.1
done
"$LOAD" -u "http://127.0.0.1:$PORT/v1" -c "$CLIENTS" -d 86400 -s -q >"$tmp/load.log" 2>&1 &
load_pid=$!

echo "sonde-gateway is running on its simulated model, $CLIENTS sonde-load clients streaming."
echo "  API      http://127.0.0.1:$PORT/v1   (try: curl http://127.0.0.1:$PORT/v1/models)"
echo "  console  http://127.0.0.1:$PORT/console/   (live overview, metrics explorer, traces, logs, alerts)"
echo "  metrics  http://127.0.0.1:$PORT/metrics"
echo "  health   http://127.0.0.1:$PORT/health   ready http://127.0.0.1:$PORT/ready"
echo "  traces   every request sampled (--trace-profile demo); exported when OTEL_EXPORTER_OTLP_ENDPOINT is set"
[ -z "$SECONDS_LEFT" ] && echo "Ctrl-C stops it all."
echo

# summary PREV CUR DT: one block of figures from two scrapes DT seconds apart
summary() {
  nt=$(native_ttft "$1.pb" "$2.pb")
  awk -v dt="$3" -v kind="${nt%%|*}" -v native="${nt#*|}" '
    function labels(s,   l) { l = s; sub(/^[^{]*\{/, "", l); sub(/\}.*$/, "", l); return l }
    function le(s,   v) { v = s; sub(/.*le="/, "", v); sub(/".*/, "", v); return v }
    FNR == 1 { f++ }
    /^#/ { next }
    {
      name = $1; sub(/\{.*/, "", name); v = $NF
      if (name == "http_requests_total" && $1 ~ /route="\/v1\//) req[f] += v
      else if (name == "gateway_tokens_total" && $1 ~ /type="output"/) tok[f] += v
      else if (name == "gateway_provider_calls_total" && $1 !~ /status="ok"/) err[f] += v
      else if (name == "gateway_streams_in_flight") streams[f] += v
      else if (name == "gen_ai_server_time_to_first_token_seconds_bucket") {
        b = le($1); bucket[f, b] += v; if (!(b in seen)) { seen[b] = 1; bounds[++nb] = b }
      }
    }
    function q(p,   i, j, t, total, prev, lo, c, cnt, rank, x) {
      # sort bounds numerically (+Inf last), then interpolate like histogram_quantile()
      for (i = 1; i <= nb; i++) for (j = i + 1; j <= nb; j++)
        if ((bounds[j] == "+Inf" ? 1e300 : bounds[j] + 0) < (bounds[i] == "+Inf" ? 1e300 : bounds[i] + 0)) {
          t = bounds[i]; bounds[i] = bounds[j]; bounds[j] = t }
      total = bucket[2, "+Inf"] - bucket[1, "+Inf"]
      if (total <= 0) return "-"
      rank = p * total; prev = 0; lo = 0
      for (i = 1; i <= nb; i++) {
        c = bucket[2, bounds[i]] - bucket[1, bounds[i]]
        if (c >= rank) {
          if (bounds[i] == "+Inf") return sprintf(">%s s", lo)
          x = lo + (bounds[i] - lo) * (c == prev ? 1 : (rank - prev) / (c - prev))
          return sprintf("%.0f ms", x * 1000)
        }
        prev = c; lo = bounds[i]
      }
      return "-"
    }
    END {
      printf "requests/s %8.1f   tokens/s %9.1f   errors %6d (+%d)   streams in flight %5d\n",
        (req[2] - req[1]) / dt, (tok[2] - tok[1]) / dt, err[2], err[2] - err[1], streams[2]
      if (native != "") printf "TTFT (last %ss, %s) %s\n", dt, kind, native
      else printf "TTFT (last %ss, classic buckets) p50 %s   p95 %s\n", dt, q(0.5), q(0.95)
    }' "$1" "$2"
}

# native_ttft PREV.pb CUR.pb: "p50 N ms   p95 N ms" from the native histogram, or nothing
pb_accept='application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited'
native_ttft() {
  python3 "$(dirname "$0")/native_quantile.py" "$1" "$2" gen_ai_server_time_to_first_token_seconds 0.5 0.95 \
    2>/dev/null | awk 'NR == 1 { if ($1 != "schema" || $4 == 0) exit; kind = "native histogram, schema " $2; next }
      { v[NR] = ($1 == "-") ? "-" : sprintf("%.0f ms", $1 * 1000) }
      END { if (kind != "") printf "%s|p50 %s   p95 %s", kind, v[2], v[3] }'
}

curl -s "http://127.0.0.1:$PORT/metrics" >"$tmp/prev"
curl -s -H "Accept: $pb_accept" "http://127.0.0.1:$PORT/metrics" >"$tmp/prev.pb"
start=$(date +%s)
[ -t 1 ] && [ -z "$SECONDS_LEFT" ] && printf 'waiting for the first figures...\n\n'
while :; do
  sleep 2
  curl -s "http://127.0.0.1:$PORT/metrics" >"$tmp/cur" || { echo "demo: the gateway stopped" >&2; exit 1; }
  curl -s -H "Accept: $pb_accept" "http://127.0.0.1:$PORT/metrics" >"$tmp/cur.pb" || true
  out=$(summary "$tmp/prev" "$tmp/cur" 2)
  if [ -t 1 ] && [ -z "$SECONDS_LEFT" ]; then
    printf '\033[2A\033[J%s\n' "$out"
  else
    printf '%s\n' "$out"
  fi
  mv "$tmp/cur" "$tmp/prev"
  mv "$tmp/cur.pb" "$tmp/prev.pb"
  if [ -n "$SECONDS_LEFT" ] && [ $(( $(date +%s) - start )) -ge "$SECONDS_LEFT" ]; then
    break
  fi
done
echo "demo: done after ${SECONDS_LEFT}s"
exit 0
