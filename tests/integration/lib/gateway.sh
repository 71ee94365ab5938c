# Helpers shared by the gateway tests (sourced, not run), on top of procs.sh:
# every process a test starts is in pids, killed on exit; files go to $tmp.
# $SONDE_BUILD is the build directory (default ./build), $SONDE_SRC the tree.
SONDE_BUILD=${SONDE_BUILD:-$(pwd)/build}
SONDE_SRC=${SONDE_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
GW=$SONDE_BUILD/sonde-gateway
LOAD=$SONDE_BUILD/sonde-load
. "$(dirname "${BASH_SOURCE[0]}")/procs.sh"

# gw_start NAME ARGS...: start a gateway, wait until it says it listens (its own log:
# the port is its, not another server's that happens to answer there) and its API port
# answers HTTP.
gw_start() {
  local name=$1; shift
  "$GW" "$@" >"$tmp/$name.log" 2>&1 &
  pids+=($!)
  GW_LAST_PID=$!
  local port="" i prev=""
  for a in "$@"; do [ "$prev" = "--port" ] && port=$a; prev=$a; done
  for i in $(seq 1 100); do
    kill -0 "$GW_LAST_PID" 2>/dev/null || break
    grep -q " listening on http://" "$tmp/$name.log" &&
      curl -s -o /dev/null "http://127.0.0.1:$port/health" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "gateway $name did not start:"; cat "$tmp/$name.log"; return 1
}

fail() { echo "FAIL: $*"; exit 1; }
