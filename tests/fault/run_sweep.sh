#!/usr/bin/env bash
# Fault sweep over one small `visionbench run` (one model, two images, CSV
# ground truth, a JSON report). It runs the command with the Nth allocation
# failing, then with the Nth file access failing. Each run must exit 0, 1 or
# 2 (the CLI's documented statuses) with no sanitizer report and no model
# process killed by a signal, and a nonzero exit needs an error message. A failed read
# of the pipe from a model's process marks that model failed, which is clean.
# Needs a binary from the VB_FAULT_INJECTION build (tests/fault/fault.h).
#
# N runs from 1 to VB_FAULT_RUN_DENSE (default 200) one by one, then grows by
# VB_FAULT_RUN_GROWTH percent (default 4) per step until a run passes the
# last counted call; VB_FAULT_RUN_GROWTH=0 tries every N.
# Exits 77 without the shared data.
set -uo pipefail
cli=${VB_CLI:?VB_CLI must name the visionbench binary}
shared=${VB_SHARED_DIR:-}
csv_dir=$shared/datasets/bad-inputs/csv
model=$shared/models/FastestDet.onnx
if [ -z "$shared" ] || [ ! -f "$csv_dir/good.csv" ] || [ ! -f "$model" ]; then
  echo "run_sweep: shared data not found; skipping"
  exit 77
fi
dense=${VB_FAULT_RUN_DENSE:-200}
growth=${VB_FAULT_RUN_GROWTH:-4}

tmp=$(mktemp -d /tmp/vb_run_sweep.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/images"
ln -s "$csv_dir/images/road_a.jpg" "$csv_dir/images/road_b.jpg" "$tmp/images/"

# ASan and UBSan exit with their own codes, so that they differ from the
# CLI's 0, 1 and 2.
export ASAN_OPTIONS=detect_leaks=1:exitcode=99
export UBSAN_OPTIONS=halt_on_error=1:exitcode=98:print_stacktrace=1

failures=0
# Runs the CLI with VAR=N; sets fired to 1 when a fault was injected.
fired=0
run_once() {
  local var=$1 n=$2
  rm -f "$tmp/fault.log" "$tmp/report.json"
  env "$var=$n" VB_FAULT_LOG="$tmp/fault.log" "$cli" run --images "$tmp/images" \
    --gt "$csv_dir/good.csv" --model "$model" --threads 1 --warmup 0 --bootstrap 20 \
    --no-progress --json "$tmp/report.json" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  local problem=""
  if [ "$rc" -gt 2 ]; then
    problem="exit status $rc"
  elif grep -qE 'Sanitizer|runtime error' "$tmp/err"; then
    problem="sanitizer report"
  elif grep -q 'crashed with signal' "$tmp/out" "$tmp/err"; then
    problem="a model process crashed"
  elif [ "$rc" -ne 0 ] && [ ! -s "$tmp/err" ] && ! grep -qiE 'error|fail' "$tmp/out"; then
    problem="exit status $rc without a message"
  fi
  if [ -n "$problem" ]; then
    echo "FAIL $var=$n: $problem" >&2
    sed 's/^/  /' "$tmp/err" | head -40 >&2
    failures=$((failures + 1))
  fi
  fired=0
  if [ -s "$tmp/fault.log" ]; then
    fired=1
  fi
}

for var in VB_FAULT_ALLOC VB_FAULT_IO; do
  n=1 runs=0
  while :; do
    run_once "$var" "$n"
    runs=$((runs + 1))
    [ "$fired" -eq 1 ] || break
    if [ "$n" -lt "$dense" ] || [ "$growth" -eq 0 ]; then
      n=$((n + 1))
    else
      n=$((n + n * growth / 100))
    fi
  done
  echo "$var: $runs runs; the first N that failed no call: $n"
done

if [ "$failures" -ne 0 ]; then
  echo "run_sweep: $failures failing runs" >&2
  exit 1
fi
