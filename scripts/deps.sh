#!/bin/sh
# Installs the Debian packages a make target needs, only those missing.
# Usage: scripts/deps.sh build|test|bench|demo
# Packages per purpose are listed once here; every Makefile target calls this.
# An entry "cmd:pkg" means: install pkg only when the command cmd is missing
# (node and npm may come from another Debian-format repository, whose nodejs
# package bundles npm; installing Debian's npm over it would conflict).
set -e
build="gcc make cmake pkg-config libmicrohttpd-dev zlib1g-dev libunistring-dev libcurl4-openssl-dev libdeflate-dev libjansson-dev libhiredis-dev libsnappy-dev libsqlite3-dev"
test="$build libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc locales clang libclang-rt-14-dev prometheus prometheus-alertmanager prometheus-pushgateway python3 python3-prometheus-client python3-yaml python3-aiosmtpd npm:nodejs npm:npm curl openssl redis-server"
bench="$build wrk curl python3 npm:nodejs npm:npm redis-server golang-go golang-github-prometheus-client-golang-dev golang-opentelemetry-otel-dev"
demo="$build curl python3 npm:nodejs npm:npm"  # python3: scripts/native_quantile.py reads the protobuf scrape; node: the MCP server of the agent workload
case "${1:-build}" in
  build) want=$build ;;
  test) want=$test ;;
  bench) want=$bench ;;
  demo) want=$demo ;;
  *) echo "usage: $0 build|test|bench|demo" >&2; exit 2 ;;
esac
missing=""
for p in $want; do
  case "$p" in
    *:*) command -v "${p%%:*}" >/dev/null 2>&1 || missing="$missing ${p#*:}" ;;
    *) dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p" ;;
  esac
done
[ -z "$missing" ] && exit 0
echo "installing:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
