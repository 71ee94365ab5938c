# procs.sh - what every shell test and benchmark needs around the servers it
# starts (sourced, not run): a scratch directory $tmp, the array pids of the
# processes started (append with pids+=($!)), and cleanup, trapped on EXIT,
# which kills and reaps them all and removes $tmp whatever happens.
# free_port prints a loopback TCP port that nothing listens on, reserved for this
# test while it runs (lib/free_port.py: never handed to another free_port caller).
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
  /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/free_port.py" $$
}
