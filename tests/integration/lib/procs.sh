# procs.sh - what every shell test and benchmark needs around the servers it
# starts (sourced, not run): a scratch directory $tmp, the array pids of the
# processes started (append with pids+=($!)), and cleanup, trapped on EXIT,
# which kills and reaps them all and removes $tmp whatever happens.
# free_port prints a loopback TCP port that nothing listens on.
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
