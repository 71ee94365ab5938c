#!/bin/bash
# test_symbols.sh - what the two shared libraries of the build export and need.
#
# 1. `nm -D --defined-only` of libsonde.so, libsonde-http.so and
#    libsonde-otlp.so lists only sonde_* functions and SONDE_* objects (nothing
#    like body_write or server_header), each exported by exactly one of them.
# 2. Those exports are exactly the declarations of the installed headers,
#    each marked SONDE_API, plus libsonde's sonde_internal_* functions, which only
#    src/core/core_iface.h declares (SONDE_INTERNAL, not API): nothing public
#    was left unmarked, nothing private leaks. And every public function is
#    called by tests/unit/test_api_null.c, the test of the NULL conventions.
# 3. libsonde needs no libmicrohttpd, zlib, GnuTLS or libcurl: a program that only
#    counts, linked with -lsonde, has none of them in its NEEDED entries
#    (readelf -d) nor among the libraries it loads (ldd), and runs.
# 4. A program on libsonde-http runs too, through libsonde's exported
#    internal function (a server option error is formatted by the core); so
#    does one on libsonde-otlp (OTEL_EXPORTER_OTLP_HEADERS parsed by the core),
#    and libsonde-otlp needs libcurl while libsonde-http does not.
# 6. The static libraries (libsonde.a, libsonde-http.a, libsonde-otlp.a: the
#    public archives, cmake/public-archive.cmake) define as global symbols
#    exactly what their shared libraries export: no internal name (llm_record,
#    body_write, hc_perform) a statically linked program could collide with.
#    The internal functions are still there, as local symbols, for debuggers.
# Plain build only (tests/CMakeLists.txt): it links uninstrumented programs.
set -euo pipefail
build=${SONDE_BUILD:?SONDE_BUILD must name the build directory}
src=${SONDE_SRC:?SONDE_SRC must name the source tree}
. "$(dirname "$0")/lib/procs.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
for tool in nm readelf ldd cc; do
  command -v "$tool" >/dev/null || fail "$tool is not installed"
done

core="$build/libsonde.so" http="$build/libsonde-http.so" otlp="$build/libsonde-otlp.so"
[ -f "$core" ] && [ -f "$http" ] && [ -f "$otlp" ] ||
  fail "the build has no libsonde.so / libsonde-http.so / libsonde-otlp.so"
# The version script's node (SONDE_0) is listed as an absolute symbol: it is the ABI tag.
node=$(grep -oE '^SONDE_[0-9A-Z_.]+' "$src/cmake/sonde.map")
[ -n "$node" ] || fail "no version node in cmake/sonde.map"
exports() {
  nm -D --defined-only "$1" | awk -v node="$node" '!($2 == "A" && $3 == node) {print $3}' |
    sed 's/@.*//' | sort -u
}
exports "$core" >"$tmp/core.syms"
exports "$http" >"$tmp/http.syms"
exports "$otlp" >"$tmp/otlp.syms"
[ -s "$tmp/core.syms" ] && [ -s "$tmp/http.syms" ] && [ -s "$tmp/otlp.syms" ] ||
  fail "nm listed no symbols"

# 1. Names, and one owner per symbol.
for lib in core http otlp; do
  bad=$(grep -Ev '^(sonde_[a-z0-9_]+|SONDE_[A-Z0-9_]+)$' "$tmp/$lib.syms" || true)
  [ -z "$bad" ] || fail "lib$lib exports symbols outside sonde_*/SONDE_*: $(echo $bad)"
done
for pair in core:http core:otlp http:otlp; do
  both=$(comm -12 "$tmp/${pair%%:*}.syms" "$tmp/${pair#*:}.syms")
  [ -z "$both" ] || fail "exported by two libraries ($pair): $(echo $both)"
done
grep -q '^sonde_internal_' "$tmp/http.syms" && fail "libsonde-http exports a sonde_internal_ symbol"
grep -q '^sonde_internal_' "$tmp/otlp.syms" && fail "libsonde-otlp exports a sonde_internal_ symbol"

# 2. Exports == SONDE_API declarations == every declaration (+ libsonde's sonde_internal_*).
# The headers as the compiler reads them (no comments), SONDE_API made a visible word.
for h in "$src"/include/sonde/*.h; do echo "#include <sonde/${h##*/}>"; done |
  cc -E -P -DSONDE_API=sonde_api_mark_ -I"$src/include" -x c - | tr '\n' ' ' |
  grep -oE 'sonde_api_mark_ [^;(]*[(;]' |
  sed -E 's/[[:space:]]*[(;]$//; s/.*[^A-Za-z0-9_]//' | sort -u >"$tmp/api.syms"
[ "$(wc -l <"$tmp/api.syms")" -gt 100 ] || fail "could not read the SONDE_API declarations"
# Every sonde_* function and SONDE_* object the headers declare carries the mark.
for h in "$src"/include/sonde/*.h; do echo "#include <sonde/${h##*/}>"; done |
  cc -E -P -DSONDE_API= -I"$src/include" -x c - | tr '\n' ' ' >"$tmp/headers.i"
{ grep -oE '\bsonde_[a-z0-9_]+ *\(' "$tmp/headers.i" | sed -E 's/ *\($//'
  grep -oE 'extern [^;]*\bSONDE_[A-Z0-9_]+;' "$tmp/headers.i" | grep -oE 'SONDE_[A-Z0-9_]+;$' |
    tr -d ';'; } | sort -u >"$tmp/decl.syms"
unmarked=$(comm -23 "$tmp/decl.syms" "$tmp/api.syms")
[ -z "$unmarked" ] || fail "declared without SONDE_API: $(echo $unmarked)"
# libsonde's exports for libsonde-http: the SONDE_INTERNAL declarations of core_iface.h
# (functions and objects; a declaration starts its line with the mark).
grep -oE '^(extern )?SONDE_INTERNAL [^;(]*[(;]' "$src/src/core/core_iface.h" |
  sed -E 's/[[:space:]]*[(;]$//; s/.*[^A-Za-z0-9_]//' | sort -u >"$tmp/internal.syms"
grep -q '^sonde_internal_' "$tmp/internal.syms" || fail "core_iface.h declares no SONDE_INTERNAL"
grep -v '^sonde_internal_' "$tmp/internal.syms" && fail "a SONDE_INTERNAL name lacks sonde_internal_"
sort -u "$tmp/api.syms" "$tmp/internal.syms" >"$tmp/declared.syms"
sort -u "$tmp/core.syms" "$tmp/http.syms" "$tmp/otlp.syms" >"$tmp/exported.syms"
missing=$(comm -23 "$tmp/declared.syms" "$tmp/exported.syms")
[ -z "$missing" ] || fail "declared SONDE_API but not exported: $(echo $missing)"
extra=$(comm -13 "$tmp/declared.syms" "$tmp/exported.syms")
[ -z "$extra" ] || fail "exported but not declared SONDE_API: $(echo $extra)"
# The NULL conventions (sonde/sonde.h) are tested for every public function.
untested=$(grep '^sonde_' "$tmp/api.syms" | while read -r f; do
  grep -qw "$f" "$src/tests/unit/test_api_null.c" || echo "$f"; done)
[ -z "$untested" ] || fail "not called with NULL by tests/unit/test_api_null.c: $(echo $untested)"
for s in sonde_counter_inc sonde_expose sonde_llm_call_begin SONDE_BUCKETS_DEFAULT; do
  grep -qx "$s" "$tmp/core.syms" || fail "libsonde does not export $s"
done
for s in sonde_server_new sonde_http_begin sonde_http_mhd_start sonde_ws_open; do
  grep -qx "$s" "$tmp/http.syms" || fail "libsonde-http does not export $s"
done
for s in sonde_span_start sonde_traceparent_parse sonde_log sonde_trace_encode_otlp; do
  grep -qx "$s" "$tmp/core.syms" || fail "libsonde does not export $s"
done
for s in sonde_otlp_new sonde_otlp_send sonde_otlp_span_exporter; do
  grep -qx "$s" "$tmp/otlp.syms" || fail "libsonde-otlp does not export $s"
done

# 3. A program that only counts needs libsonde alone.
deps_re='libmicrohttpd|libz\.so|libgnutls|libcurl|libsonde-http|libsonde-otlp'
readelf -d "$core" | grep NEEDED | grep -E "$deps_re" && fail "libsonde.so needs an HTTP dependency"
cat >"$tmp/count.c" <<'C'
#include <sonde/sonde.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void)
{
    sonde_registry *reg;
    sonde_counter *jobs;
    if (sonde_registry_new(NULL, &reg) || sonde_counter_new(reg, "jobs_total", "Jobs.", &jobs))
        return 1;
    sonde_counter_add(jobs, 2);
    char *text = sonde_expose_alloc(reg, SONDE_FORMAT_TEXT, NULL);
    int ok = text && strstr(text, "\njobs_total 2\n");
    puts(ok ? "counted" : "wrong");
    free(text);
    sonde_registry_free(reg);
    return !ok;
}
C
cc "$tmp/count.c" -o "$tmp/count" -I"$src/include" -L"$build" -lsonde -Wl,-rpath,"$build"
readelf -d "$tmp/count" | grep NEEDED >"$tmp/count.needed"
grep -q 'libsonde\.so\.0' "$tmp/count.needed" || fail "the program does not need libsonde.so.0"
grep -E "$deps_re" "$tmp/count.needed" && fail "the core-only program needs an HTTP dependency"
ldd "$tmp/count" >"$tmp/count.ldd"
grep -q "$build/libsonde.so.0" "$tmp/count.ldd" || fail "ldd does not resolve the build's libsonde"
grep -E "$deps_re" "$tmp/count.ldd" && fail "the core-only program loads an HTTP dependency"
[ "$("$tmp/count")" = counted ] || fail "the core-only program did not count"

# 4. libsonde-http on libsonde: its server's option errors are formatted by libsonde.
cat >"$tmp/serve.c" <<'C'
#include <sonde/sonde.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    sonde_server_opts opts;
    sonde_server *s = NULL;
    char err[128] = "";
    sonde_server_opts_init(&opts);
    opts.bearer_token = "";
    int rc = sonde_server_new(&opts, err, sizeof err, &s);
    printf("%d %s\n", rc == SONDE_ECONFIG && s == NULL, err);
    return 0;
}
C
cc "$tmp/serve.c" -o "$tmp/serve" -I"$src/include" -L"$build" -lsonde-http -lsonde \
  -Wl,-rpath,"$build"
readelf -d "$tmp/serve" | grep -q 'libsonde-http\.so\.0' || fail "serve does not need libsonde-http"
out=$("$tmp/serve")
[ "$out" = "1 bearer token is empty" ] || fail "libsonde-http program printed: $out"

# 5. libsonde-otlp on libsonde: headers set in code are parsed by the core's exported
#    sonde_internal_kv_parse (a malformed one is refused), the endpoint gets /v1/traces.
readelf -d "$otlp" | grep NEEDED | grep -q libcurl || fail "libsonde-otlp.so does not need libcurl"
readelf -d "$http" | grep NEEDED | grep -q libcurl && fail "libsonde-http.so needs libcurl"
cat >"$tmp/otlp.c" <<'C'
#include <sonde/otlp.h>
#include <sonde/sonde.h>
#include <stdio.h>
int main(void)
{
    sonde_otlp_opts o;
    sonde_otlp *t = NULL;
    sonde_otlp_opts_init(&o);
    o.read_env = 0;
    o.endpoint = "http://127.0.0.1:4318";
    o.headers = "x-key=a%20b";
    int good = sonde_otlp_new(&o, &t);
    printf("%d %s ", good, sonde_otlp_endpoint(t, SONDE_OTLP_TRACES));
    sonde_otlp_free(t);
    o.headers = "x-key=%zz";
    printf("%d\n", sonde_otlp_new(&o, &t) == SONDE_ECONFIG && t == NULL);
    return 0;
}
C
cc "$tmp/otlp.c" -o "$tmp/otlp" -I"$src/include" -L"$build" -lsonde-otlp -lsonde -Wl,-rpath,"$build"
out=$("$tmp/otlp")
[ "$out" = "0 http://127.0.0.1:4318/v1/traces 1" ] || fail "libsonde-otlp program printed: $out"
# 6. The static libraries define globally what the shared ones export, nothing else.
for pair in core:libsonde http:libsonde-http otlp:libsonde-otlp; do
  key=${pair%%:*} archive="$build/${pair#*:}.a"
  [ -f "$archive" ] || fail "the build has no ${pair#*:}.a"
  nm -g --defined-only "$archive" | awk 'NF == 3 {print $3}' | sort -u >"$tmp/$key.a.syms"
  [ -s "$tmp/$key.a.syms" ] || fail "nm listed no global symbol of ${pair#*:}.a"
  bad=$(grep -Ev '^(sonde_[a-z0-9_]+|SONDE_[A-Z0-9_]+)$' "$tmp/$key.a.syms" || true)
  [ -z "$bad" ] || fail "${pair#*:}.a defines globals outside sonde_*/SONDE_*: $(echo $bad)"
  differ=$(comm -3 "$tmp/$key.syms" "$tmp/$key.a.syms")
  [ -z "$differ" ] || fail "${pair#*:}.a and ${pair#*:}.so define different globals: $(echo $differ)"
done
# The internal functions are in the archives still, as local symbols.
for pair in libsonde:llm_record libsonde-http:body_write libsonde-otlp:hc_perform; do
  nm "$build/${pair%%:*}.a" >"$tmp/archive.nm"
  grep -q " t ${pair#*:}\$" "$tmp/archive.nm" || fail "${pair#*:} is not local in ${pair%%:*}.a"
done
echo "6 passed, 0 failed"
