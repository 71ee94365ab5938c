# Helpers shared by the gateway tests (sourced, not run). Every process a test
# starts is recorded and killed by gw_cleanup, which the test traps on EXIT.
# $SONDE_BUILD is the build directory (default ./build), $SONDE_SRC the tree.
SONDE_BUILD=${SONDE_BUILD:-$(pwd)/build}
SONDE_SRC=${SONDE_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
GW=$SONDE_BUILD/sonde-gateway
LOAD=$SONDE_BUILD/sonde-load
GW_PIDS=""
GW_TMP=$(mktemp -d)

gw_cleanup() {
  for p in $GW_PIDS; do kill "$p" 2>/dev/null || true; done
  for p in $GW_PIDS; do wait "$p" 2>/dev/null || true; done
  rm -rf "$GW_TMP"
}

# A free loopback TCP port (nothing listens on it when this returns).
gw_free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# gw_start NAME ARGS...: start a gateway, wait until it answers /health.
gw_start() {
  local name=$1; shift
  "$GW" "$@" >"$GW_TMP/$name.log" 2>&1 &
  GW_PIDS="$GW_PIDS $!"
  local port="" i prev=""
  for a in "$@"; do [ "$prev" = "--port" ] && port=$a; prev=$a; done
  for i in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "gateway $name did not start:"; cat "$GW_TMP/$name.log"; return 1
}

fail() { echo "FAIL: $*"; exit 1; }
