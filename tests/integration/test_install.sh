#!/bin/bash
# make install works for users: installs into a temporary prefix, then builds a
# small program against it twice, with pkg-config and with CMake's
# find_package(sonde), links it statically and dynamically, and runs it.
set -euo pipefail
build=${SONDE_BUILD:?} src=${SONDE_SRC:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
test -f "$tmp/prefix/include/sonde/sonde.h"
libdir=$(ls -d "$tmp/prefix"/lib*/ | head -n1)
test -f "$libdir/pkgconfig/sonde.pc"
test -f "$libdir/cmake/sonde/sondeConfig.cmake"

cat > "$tmp/app.c" <<'C'
#include <sonde/sonde.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void)
{
    sonde_registry *reg;
    if (sonde_registry_new(NULL, &reg))
        return 1;
    sonde_counter *c = sonde_counter_new(reg, "installed_total", "Installed.");
    sonde_counter_add(c, 3);
    char *text = sonde_expose_alloc(reg, SONDE_FORMAT_TEXT, NULL);
    int ok = text && strstr(text, "installed_total 3\n") != NULL;
    printf("%s %s\n", sonde_version(), ok ? "ok" : "bad");
    free(text);
    sonde_registry_free(reg);
    return ok ? 0 : 1;
}
C

# pkg-config, shared library
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc "$tmp/app.c" -o "$tmp/app-pc" $(pkg-config --cflags --libs sonde) -Wl,-rpath,"$libdir"
out=$("$tmp/app-pc")
[ "$out" = "0.1.0 ok" ] || { echo "pkg-config build printed: $out"; exit 1; }
# pkg-config, static library
cc "$tmp/app.c" -o "$tmp/app-static" $(pkg-config --cflags sonde) "$libdir/libsonde.a" \
  $(pkg-config --static --libs sonde | sed 's/-lsonde//')
"$tmp/app-static" | grep -q ' ok$'

# CMake package
mkdir -p "$tmp/cm"
cat > "$tmp/cm/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.16)
project(app C)
find_package(sonde REQUIRED)
add_executable(app ../app.c)
target_link_libraries(app PRIVATE sonde::sonde)
CM
cmake -S "$tmp/cm" -B "$tmp/cm/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cm/build" >/dev/null
LD_LIBRARY_PATH="$libdir" "$tmp/cm/build/app" | grep -q ' ok$'
echo "1 passed, 0 failed"
