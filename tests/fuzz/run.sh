#!/bin/sh
# run.sh BUILD_DIR SECONDS [TARGET...] - runs the libFuzzer targets built in BUILD_DIR/fuzz
# (all of them, or those named) for SECONDS each. Each target starts from its seed corpus
# tests/fuzz/corpus/<name>/ plus what earlier runs found (BUILD_DIR/fuzz-work/<name>/corpus;
# new inputs go there, never into the repository). A crash, leak, timeout or sanitizer report
# leaves its input in BUILD_DIR/fuzz-work/<name>/ and fails the run; copy it into the seed
# corpus with the fix, as a regression case. A missing target fails too.
# Leaks are checked once, when each target exits (LeakSanitizer at exit fails the run), not
# after every input (-detect_leaks=0): the registry defers frees past a grace period, so every
# input would look like a leak to libFuzzer's per-input check and be rescanned, 20x slower.
# An input that runs over 30 s (wall clock: generous, the machine may be shared) is a hang.
set -u
build=$1
seconds=$2
shift 2
src=$(cd "$(dirname "$0")" && pwd)
if [ $# -eq 0 ]; then
  set -- $(cd "$src" && ls fuzz_*.c fuzz_*.cpp | sed 's/^fuzz_//; s/\.c$//; s/\.cpp$//')
fi
failed=""
for name in "$@"; do
  bin="$build/fuzz/fuzz_$name"
  work="$build/fuzz-work/$name"
  mkdir -p "$work/corpus"
  if [ ! -x "$bin" ]; then
    echo "fuzz_$name: not built ($bin)" >&2
    failed="$failed $name"
    continue
  fi
  echo "fuzz_$name: $seconds s"
  if ! "$bin" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -detect_leaks=0 -max_len=8192 \
      -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" "$src/corpus/$name" \
      >"$work/log" 2>&1; then
    tail -n 60 "$work/log" >&2
    failed="$failed $name"
  else
    grep -E "^stat::(number_of_executed_units|new_units_added)" "$work/log" | tr '\n' ' '
    echo
  fi
done
if [ -n "$failed" ]; then
  echo "fuzzing failed:$failed (inputs in $build/fuzz-work/<name>/)" >&2
  exit 1
fi
