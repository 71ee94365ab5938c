#!/bin/bash
# Soak of sonde-gateway (usage: bench/soak.sh BUILD_DIR; SOAK_SECONDS shortens it):
#   BENCH soak_rss_growth_pct  growth of the resident memory of the gateways from
#                              after the first minute (the first 10 % of the run
#                              when SOAK_SECONDS is under 600) to the end, the
#                              larger of the two gateways (each point the median of
#                              5 samples 2 s apart); target <= 5
#   BENCH soak_errors          failed streams of the 200 streaming clients
#                              (transport errors and non-200 answers); target 0
# Set-up: a front gateway proxies every model to a back gateway running the sim,
# so the proxy path (SSE parser, timeouts, hang-up watcher) and the sim path both
# run. On the front, for SOAK_SECONDS (default 600): 200 sonde-load clients
# streaming chat completions one after the other; 500 idle half-open
# connections (250 that connected and sent nothing, 250 that sent half a request
# header), opened evenly over the first half of the warm-up and reopened whenever
# the gateway closes one (its 120 s idle timeout); and, five at a time with half a
# second between, clients that start a stream and hang up after its first token
# (their cancellations must not leak). RSS is read from /proc every 2 s;
# SOAK_TRACE=FILE appends each sample ("seconds front_kB back_kB") to FILE.
set -euo pipefail
build=${1:-build-bench}
build=$(cd "$build" && pwd)
GW=$build/sonde-gateway
LOAD=$build/sonde-load
[ -x "$GW" ] && [ -x "$LOAD" ] || { echo "bench/soak.sh: build $build first" >&2; exit 1; }
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"
. "$(dirname "$0")/../tests/integration/lib/procs.sh"
SECONDS_TOTAL=${SOAK_SECONDS:-600}
if [ "$SECONDS_TOTAL" -ge 600 ]; then WARM=60; else WARM=$(( (SECONDS_TOTAL + 9) / 10 )); fi

start() { # start PORT ARGS...: prints the pid
  local p=$1; shift
  "$GW" --port "$p" --address 127.0.0.1 "$@" >"$tmp/gw-$p.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$p/health" >/dev/null && return 0; sleep 0.05; done
  echo "gateway on $p did not start" >&2; cat "$tmp/gw-$p.log" >&2; exit 1
}
back=$(free_port); front=$(free_port)
start "$back" --sim-ttft-ms 200 --sim-inter-token-ms 20 --sim-jitter-ms 5 --sim-output-tokens 64
back_pid=${pids[-1]}
start "$front" --upstream "http://127.0.0.1:$back/v1"
front_pid=${pids[-1]}

# idle half-open connections and mid-stream hang-ups, until told to stop
/usr/bin/python3 - "$front" "$tmp/stop" "$(( (WARM + 1) / 2 ))" >"$tmp/idle.log" 2>&1 <<'PY' &
import json, os, socket, sys, time
port, stop, spread = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
def idle(i):
    s = socket.create_connection(("127.0.0.1", port))
    if i % 2:
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: soak\r\n")
    s.setblocking(False)
    return s
conns = []  # opened evenly over the warm-up, so that the gateway's idle timeout closes
t0 = time.time()  # them evenly too, not all in one instant
body = json.dumps({"model": "sonde-sim", "stream": True,
                   "messages": [{"role": "user", "content": "hang up on me"}]}).encode()
reopened = hangups = 0
while not os.path.exists(stop):
    while len(conns) < min(500, int(500 * (time.time() - t0) / spread) + 1):
        conns.append(idle(len(conns)))
    for i, s in enumerate(conns):  # the gateway closed it (its idle timeout): open another
        try:
            if s.recv(1) == b"":
                raise ConnectionError
        except BlockingIOError:
            continue
        except OSError:
            pass
        s.close()
        conns[i] = idle(i)
        reopened += 1
    for _ in range(5):
        h = socket.create_connection(("127.0.0.1", port))
        h.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body)
        h.settimeout(10)
        got = b""
        try:
            while b'"content":"' not in got.replace(b'"content":""', b""):
                d = h.recv(4096)
                if not d:
                    break
                got += d
        except OSError:
            pass
        h.close()
        hangups += 1
    time.sleep(0.5)
print(f"reopened {reopened} idle connections, {hangups} mid-stream hang-ups")
PY
pids+=($!)
idle_pid=$!

rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
median() { tr ' ' '\n' | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
"$LOAD" -u "http://127.0.0.1:$front/v1" -c 200 -d "$SECONDS_TOTAL" -s -q >"$tmp/load.txt" 2>&1 &
pids+=($!)
load_pid=$!
# each RSS point is the median of 5 samples 2 s apart (the first 5 from the end of the
# warm-up; the last 5), so that a momentary
# peak (freed memory not yet handed back) does not decide the figure; real growth persists
t=0
fronts=(); backs=()
while kill -0 "$load_pid" 2>/dev/null; do
  sleep 2
  t=$((t + 2))
  [ "$t" -le "$SECONDS_TOTAL" ] || continue
  f=$(rss "$front_pid"); b=$(rss "$back_pid")
  fronts+=("$f"); backs+=("$b")
  [ -z "${SOAK_TRACE:-}" ] || echo "$t $f $b" >>"$SOAK_TRACE"
  [ "$t" -lt "$WARM" ] || after_warm=$((${after_warm:-0} + 1))
  if [ "${after_warm:-0}" = 5 ]; then
    base_front=$(echo "${fronts[@]: -5}" | median); base_back=$(echo "${backs[@]: -5}" | median)
  fi
done
end_front=$(echo "${fronts[@]: -5}" | median); end_back=$(echo "${backs[@]: -5}" | median)
wait "$load_pid" || true
touch "$tmp/stop"
wait "$idle_pid" || { echo "bench/soak.sh: the idle and hang-up client failed:" >&2; cat "$tmp/idle.log" >&2; exit 1; }
summary=$(grep '^SUMMARY' "$tmp/load.txt" || true)
[ -n "$summary" ] || { echo "bench/soak.sh: sonde-load failed:" >&2; cat "$tmp/load.txt" >&2; exit 1; }
field() { echo "$summary" | sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
echo "soak: $SECONDS_TOTAL s, $(field requests) streams, $(cat "$tmp/idle.log");" \
     "RSS front ${base_front} -> ${end_front} kB, back ${base_back} -> ${end_back} kB" >&2
/usr/bin/python3 -c "
f = 100.0 * ($end_front - $base_front) / $base_front
b = 100.0 * ($end_back - $base_back) / $base_back
print('BENCH soak_rss_growth_pct %.2f' % max(f, b))"
echo "BENCH soak_errors $(field errors)"
