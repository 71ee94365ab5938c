#!/bin/bash
# make install works for users: installs into a temporary prefix, then builds
# four small programs against it, one on libsonde alone (it counts), one on
# libsonde-http (it answers a /metrics request through sonde_server_handle),
# one on libsonde-otlp (a tracer exporting through the OTLP transport) and one
# on its push exporters (push.h: a remote-write sender, snappy included, and a
# Pushgateway client), each with pkg-config (sonde.pc, sonde-http.pc,
# sonde-otlp.pc) linked shared
# and static, and with CMake's find_package(sonde) through sonde::sonde,
# sonde::sonde_static, sonde::http, sonde::http_static, sonde::otlp and
# sonde::otlp_static; every program runs. The core program, however built,
# never links libmicrohttpd, zlib or libcurl. The installed archives define no
# global name but sonde_* / SONDE_* (libsonde-grpc.a: none outside sonde's C++
# names but the weak definitions C++ merges): a program with functions named
# like sonde's internal ones (llm_record, body_write, hc_perform, ...) links
# them all statically and calls both; linked with --gc-sections, the core
# program drops the functions it never reaches.
set -euo pipefail
build=${SONDE_BUILD:?} src=${SONDE_SRC:?}
. "$(dirname "$0")/lib/procs.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v pkg-config >/dev/null || fail "pkg-config is not installed"
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
test -f "$tmp/prefix/include/sonde/sonde.h"
test -f "$tmp/prefix/include/sonde/export.h"
test -f "$tmp/prefix/include/sonde/push.h"
libdir=$(ls -d "$tmp/prefix"/lib*/ | head -n1)
libdir=${libdir%/}
for f in pkgconfig/sonde.pc pkgconfig/sonde-http.pc pkgconfig/sonde-otlp.pc \
  cmake/sonde/sondeConfig.cmake libsonde.a libsonde-http.a libsonde-otlp.a libsonde.so.0 \
  libsonde-http.so.0 libsonde-otlp.so.0; do
  test -e "$libdir/$f" || fail "not installed: $f"
done

cat >"$tmp/core.c" <<'C'
#include <sonde/sonde.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void)
{
    sonde_registry *reg;
    sonde_counter *c;
    if (sonde_registry_new(NULL, &reg) || sonde_counter_new(reg, "installed_total", "Installed.", &c))
        return 1;
    sonde_counter_add(c, 3);
    char *text = sonde_expose_alloc(reg, SONDE_FORMAT_TEXT, NULL);
    int ok = text && strstr(text, "installed_total 3\n") != NULL;
    printf("%s %s\n", sonde_version(), ok ? "ok" : "bad");
    free(text);
    sonde_registry_free(reg);
    return ok ? 0 : 1;
}
C
cat >"$tmp/http.c" <<'C'
#include <sonde/sonde.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    sonde_registry *reg;
    sonde_server *srv;
    sonde_server_opts opts;
    sonde_server_response resp;
    sonde_counter *c;
    if (sonde_registry_new(NULL, &reg) || sonde_counter_new(reg, "served_total", "Served.", &c))
        return 1;
    sonde_counter_inc(c);
    sonde_server_opts_init(&opts);
    opts.registry = reg;
    if (sonde_server_new(&opts, NULL, 0, &srv))
        return 1;
    sonde_server_request req = {.method = "GET", .path = "/metrics"};
    int ok = sonde_server_handle(srv, &req, &resp) == SONDE_OK && resp.status == 200 &&
             strstr(resp.body, "served_total 1\n") != NULL;
    printf("%s %s\n", sonde_version(), ok ? "ok" : "bad");
    sonde_server_response_free(&resp);
    sonde_server_free(srv);
    sonde_registry_free(reg);
    return ok ? 0 : 1;
}
C
cat >"$tmp/otlp.c" <<'C'
#include <sonde/otlp.h>
#include <sonde/sonde.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    sonde_otlp_opts oo;
    sonde_otlp *otlp;
    sonde_tracer_opts to;
    sonde_tracer *tr;
    sonde_otlp_opts_init(&oo);
    oo.read_env = 0;
    oo.endpoint = "http://127.0.0.1:9";
    oo.timeout_ms = 200;
    if (sonde_otlp_new(&oo, &otlp))
        return 1;
    sonde_tracer_opts_init(&to);
    to.read_env = 0;
    sonde_otlp_span_exporter(otlp, &to.exporter);
    if (sonde_tracer_new(&to, &tr) || !tr)
        return 1;
    sonde_span_end(sonde_span_start(tr, "installed", SONDE_SPAN_INTERNAL, NULL));
    sonde_tracer_free(tr, 1000);
    sonde_otlp_stats st;
    sonde_otlp_stats_get(otlp, &st);
    int ok = strcmp(sonde_otlp_endpoint(otlp, SONDE_OTLP_TRACES), "http://127.0.0.1:9/v1/traces") == 0 &&
             st.requests >= 1;
    printf("%s %s\n", sonde_version(), ok ? "ok" : "bad");
    sonde_otlp_free(otlp);
    return ok ? 0 : 1;
}
C

cat >"$tmp/push.c" <<'C'
#include <sonde/push.h>
#include <sonde/sonde.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    sonde_registry *reg;
    sonde_counter *c;
    if (sonde_registry_new(NULL, &reg) || sonde_counter_new(reg, "pushed_total", "Pushed.", &c))
        return 1;
    sonde_remote_write_opts ro;
    sonde_remote_write_opts_init(&ro);
    ro.registry = reg;
    ro.url = "http://127.0.0.1:9/api/v1/write";
    ro.timeout_ms = 200;
    sonde_remote_write *rw;
    if (sonde_remote_write_new(&ro, &rw))
        return 1;
    sonde_remote_write_free(rw, 300); /* a last snapshot, compressed, not delivered */
    sonde_remote_write_stats st;
    sonde_remote_write_stats_get(NULL, &st);
    char path[128];
    sonde_label g[] = {{"path", "/x"}};
    int ok = sonde_pushgateway_path("job", g, 1, path, sizeof path) > 0 &&
             strcmp(path, "/metrics/job/job/path@base64/L3g=") == 0;
    printf("%s %s\n", sonde_version(), ok ? "ok" : "bad");
    sonde_registry_free(reg);
    return ok ? 0 : 1;
}
C

# run NAME BINARY: it prints "<version> ok"; the core programs link no HTTP dependency.
run() {
  local out
  out=$(LD_LIBRARY_PATH="$libdir" "$2") || fail "$1 failed: $out"
  [ "$out" = "0.1.0 ok" ] || fail "$1 printed: $out"
  case "$1" in
    core*) readelf -d "$2" | grep NEEDED | grep -E 'libmicrohttpd|libz\.so|libcurl|libsonde-' &&
             fail "$1 needs an HTTP dependency" ;;
  esac
  return 0
}

# pkg-config: shared and static, for each package.
export PKG_CONFIG_PATH="$libdir/pkgconfig"
[ "$(pkg-config --modversion sonde-http)" = "0.1.0" ] || fail "sonde-http.pc version"
pkg-config --print-requires sonde-http | grep -q '^sonde = 0.1.0$' ||
  fail "sonde-http.pc does not require sonde of its own version"
pkg-config --print-requires sonde-otlp | grep -q '^sonde = 0.1.0$' ||
  fail "sonde-otlp.pc does not require sonde of its own version"
pkg-config --static --libs sonde | grep -qE 'microhttpd|-lz\b|curl' && fail "sonde.pc brings HTTP deps"
for pkg in sonde:core sonde-http:http sonde-otlp:otlp sonde-otlp:push; do
  name=${pkg%%:*} prog=${pkg#*:}
  cc "$tmp/$prog.c" -o "$tmp/$prog-pc" $(pkg-config --cflags --libs "$name") -Wl,-rpath,"$libdir"
  readelf -d "$tmp/$prog-pc" | grep NEEDED | grep -q "lib$name\.so" ||
    fail "$prog-pc is not linked to lib$name.so"
  run "$prog-pc shared" "$tmp/$prog-pc"
  # The --static flags with the archives in place of -lsonde-http / -lsonde.
  # libcurl's own static dependencies (nghttp2, ldap, ...) have no archives on Debian: the
  # sonde archives with a shared libcurl, as the CMake target sonde::otlp_static links them.
  flags="--static"
  [ "$name" = sonde-otlp ] && flags=""
  static_libs=$(pkg-config $flags --libs "$name" |
    sed -E "s#-lsonde-http( |\$)#$libdir/libsonde-http.a #; s#-lsonde-otlp( |\$)#$libdir/libsonde-otlp.a #;
            s#-lsonde( |\$)#$libdir/libsonde.a #")
  [ "$name" = sonde-otlp ] &&
    static_libs="$static_libs $(pkg-config --libs $(pkg-config --print-requires-private sonde-otlp)) -lpthread -lm"
  cc "$tmp/$prog.c" -o "$tmp/$prog-pc-static" $(pkg-config --cflags "$name") $static_libs
  readelf -d "$tmp/$prog-pc-static" | grep NEEDED | grep -q libsonde &&
    fail "$prog-pc-static still needs a shared libsonde"
  run "$prog-pc static" "$tmp/$prog-pc-static"
done

# The installed archives: only sonde_* functions and SONDE_* objects are global.
for a in libsonde.a libsonde-http.a libsonde-otlp.a; do
  nm -g --defined-only "$libdir/$a" | awk 'NF == 3 {print $3}' >"$tmp/$a.syms"
  [ -s "$tmp/$a.syms" ] || fail "nm listed no global symbol of the installed $a"
  bad=$(grep -Ev '^(sonde_[a-z0-9_]+|SONDE_[A-Z0-9_]+)$' "$tmp/$a.syms" || true)
  [ -z "$bad" ] || fail "the installed $a defines globals outside sonde_*/SONDE_*: $(echo $bad)"
done

# A program whose own functions carry names sonde's internal ones have: linked statically
# with the three archives (pkg-config --static, the sonde archives in place of -l), it calls
# its functions and sonde's of all three libraries.
cat >"$tmp/collide.c" <<'C'
#include <sonde/otlp.h>
#include <sonde/sonde.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int llm_record(void) { return 1; }
int store_child(void) { return 2; }
int body_write(void) { return 4; }
int cj_str(void) { return 8; }
int console_api_status(void) { return 16; }
int hc_perform(void) { return 32; }
int hc_start(void) { return 64; }
int main(void)
{
    int mine = llm_record() + store_child() + body_write() + cj_str() + console_api_status() +
               hc_perform() + hc_start();
    sonde_registry *reg;
    sonde_counter *c;
    sonde_server *srv;
    sonde_server_opts so;
    sonde_server_response resp;
    sonde_otlp_opts oo;
    sonde_otlp *otlp;
    if (sonde_registry_new(NULL, &reg) || sonde_counter_new(reg, "collide_total", "Collide.", &c))
        return 1;
    sonde_counter_inc(c);
    sonde_server_opts_init(&so);
    so.registry = reg;
    sonde_otlp_opts_init(&oo);
    oo.read_env = 0;
    oo.endpoint = "http://127.0.0.1:9";
    if (sonde_server_new(&so, NULL, 0, &srv) || sonde_otlp_new(&oo, &otlp))
        return 1;
    sonde_server_request req = {.method = "GET", .path = "/metrics"};
    int ok = mine == 127 && sonde_server_handle(srv, &req, &resp) == SONDE_OK && resp.status == 200 &&
             strstr(resp.body, "collide_total 1\n") != NULL &&
             strcmp(sonde_otlp_endpoint(otlp, SONDE_OTLP_LOGS), "http://127.0.0.1:9/v1/logs") == 0;
    printf("%s %s\n", sonde_version(), ok ? "ok" : "bad");
    sonde_server_response_free(&resp);
    sonde_server_free(srv);
    sonde_otlp_free(otlp);
    sonde_registry_free(reg);
    return ok ? 0 : 1;
}
C
collide_libs=$(pkg-config --static --libs sonde-http |
  sed -E "s#-lsonde-http( |\$)#$libdir/libsonde-otlp.a $libdir/libsonde-http.a #; s#-lsonde( |\$)#$libdir/libsonde.a #")
cc "$tmp/collide.c" -o "$tmp/collide" $(pkg-config --cflags sonde-http sonde-otlp) $collide_libs \
  $(pkg-config --libs $(pkg-config --print-requires-private sonde-otlp)) -lpthread -lm ||
  fail "a program with functions named like sonde's internal ones does not link the archives"
readelf -d "$tmp/collide" | grep NEEDED | grep -q libsonde && fail "collide still needs a shared libsonde"
run collide "$tmp/collide"

# Each archive is one object, taken whole; --gc-sections drops what the program never
# reaches (the core program counts and exposes: no LLM tracker, no storage helper).
static_core=$(pkg-config --static --libs sonde | sed -E "s#-lsonde( |\$)#$libdir/libsonde.a #")
cc "$tmp/core.c" -o "$tmp/core-gc" $(pkg-config --cflags sonde) -Wl,--gc-sections $static_core
run "core-gc static" "$tmp/core-gc"
nm "$tmp/core-gc" >"$tmp/core-gc.nm"
grep -q ' sonde_counter_add$' "$tmp/core-gc.nm" || fail "core-gc has no sonde_counter_add"
grep -Eq ' (llm_record|sonde_llm_call_begin|store_child)$' "$tmp/core-gc.nm" &&
  fail "--gc-sections kept functions the core program never reaches"

# CMake package: the six targets (the push program on the otlp ones).
mkdir -p "$tmp/cm"
cat >"$tmp/cm/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.16)
project(app C)
find_package(sonde 0.1 REQUIRED)
add_executable(core-shared ../core.c)
target_link_libraries(core-shared PRIVATE sonde::sonde)
add_executable(core-static ../core.c)
target_link_libraries(core-static PRIVATE sonde::sonde_static)
add_executable(http-shared ../http.c)
target_link_libraries(http-shared PRIVATE sonde::http)
add_executable(http-static ../http.c)
target_link_libraries(http-static PRIVATE sonde::http_static)
add_executable(otlp-shared ../otlp.c)
target_link_libraries(otlp-shared PRIVATE sonde::otlp)
add_executable(otlp-static ../otlp.c)
target_link_libraries(otlp-static PRIVATE sonde::otlp_static)
add_executable(push-shared ../push.c)
target_link_libraries(push-shared PRIVATE sonde::otlp)
add_executable(push-static ../push.c)
target_link_libraries(push-static PRIVATE sonde::otlp_static)
CM
cmake -S "$tmp/cm" -B "$tmp/cm/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cm/build" >/dev/null
for p in core-shared core-static http-shared http-static otlp-shared otlp-static push-shared push-static; do
  run "$p cmake" "$tmp/cm/build/$p"
  case "$p" in
    *-static) readelf -d "$tmp/cm/build/$p" | grep NEEDED | grep -q libsonde &&
                fail "$p cmake still needs a shared libsonde" ;;
    http-shared) readelf -d "$tmp/cm/build/$p" | grep NEEDED | grep -q 'libsonde-http\.so' ||
                   fail "http-shared is not linked to libsonde-http.so" ;;
    otlp-shared|push-shared) readelf -d "$tmp/cm/build/$p" | grep NEEDED | grep -q 'libsonde-otlp\.so' ||
                   fail "otlp-shared is not linked to libsonde-otlp.so" ;;
  esac
done

# libsonde-grpc (built with gRPC C++, which `make test` installs): its header, sonde-grpc.pc
# and sonde::grpc; a C++ program on each builds both interceptor factories, the listed
# method's series is in the exposition, and the shared library exports the two
# sonde_grpc_* functions and nothing else.
[ -f "$libdir/libsonde-grpc.so.0" ] && [ -f "$tmp/prefix/include/sonde/grpc.hpp" ] ||
  fail "libsonde-grpc or sonde/grpc.hpp is not installed"
command -v c++ >/dev/null || fail "c++ is not installed"
cat >"$tmp/grpc.cpp" <<'CPP'
#include <sonde/grpc.hpp>
#include <sonde/sonde.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
int main()
{
    sonde_rpc *rpc;
    if (sonde_rpc_new(nullptr, &rpc))
        return 1;
    sonde_grpc_opts o;
    o.rpc = rpc;
    o.methods = {"/items.v1.Items/Get"};
    auto server = sonde_grpc_server_interceptor_factory(o);
    auto client = sonde_grpc_client_interceptor_factory(o);
    char *text = sonde_expose_alloc(sonde_default_registry(), SONDE_FORMAT_TEXT, nullptr);
    bool ok = server && client && text &&
              strstr(text, "rpc_request_duration_seconds_count{method=\"items.v1.Items/Get\"} 0");
    printf("%s %s\n", sonde_version(), ok ? "ok" : "bad");
    free(text);
    server.reset();
    client.reset();
    sonde_rpc_free(rpc);
    return ok ? 0 : 1;
}
CPP
c++ -std=c++17 "$tmp/grpc.cpp" -o "$tmp/grpc-pc" $(pkg-config --cflags --libs sonde-grpc)
readelf -d "$tmp/grpc-pc" | grep NEEDED | grep -q 'libsonde-grpc\.so' || fail "grpc-pc does not need libsonde-grpc.so"
run grpc-pc "$tmp/grpc-pc"
mkdir -p "$tmp/cmg"
cat >"$tmp/cmg/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.16)
project(app CXX)
set(CMAKE_CXX_STANDARD 17)
find_package(sonde 0.1 REQUIRED)
add_executable(grpc-cmake ../grpc.cpp)
target_link_libraries(grpc-cmake PRIVATE sonde::grpc)
CM
cmake -S "$tmp/cmg" -B "$tmp/cmg/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cmg/build" >/dev/null
run grpc-cmake "$tmp/cmg/build/grpc-cmake"
exports=$(nm -D --defined-only -C "$libdir/libsonde-grpc.so.0" | awk '$2 != "A" {$1=""; $2=""; print}' |
  sed 's/^ *//; s/@.*//' | sort)
want=$(printf '%s\n' \
  'sonde_grpc_client_interceptor_factory' \
  'sonde_grpc_server_interceptor_factory')
[ "$exports" = "$want" ] || fail "libsonde-grpc.so exports: $exports"
# Its archive's strong globals are sonde's C++ names (the two factories, sonde_grpc_internal::);
# the rest are weak definitions of inline functions and templates (W, V, u), which the linker
# merges with the program's own copies instead of colliding.
nm -g --defined-only -C "$libdir/libsonde-grpc.a" | awk 'NF >= 3 && $2 !~ /^[WVu]$/' |
  cut -d' ' -f3- >"$tmp/grpc.a.strong"
[ -s "$tmp/grpc.a.strong" ] || fail "nm listed no strong global of libsonde-grpc.a"
bad=$(grep -Ev '^(sonde_grpc_internal::|sonde_grpc_(server|client)_interceptor_factory$)' \
  "$tmp/grpc.a.strong" || true)
[ -z "$bad" ] || fail "libsonde-grpc.a defines strong globals outside sonde's names: $bad"
echo "22 passed, 0 failed"
