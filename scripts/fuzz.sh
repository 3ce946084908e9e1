#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, VB_FUZZ=ON) and runs each target in
# turn for a fixed time, one process at a time. The corpus grows in
# build-fuzz/corpus/TARGET, crashing inputs land in build-fuzz/crashes/TARGET
# and the libFuzzer output goes to build-fuzz/logs/TARGET.log. The script
# prints the last status line of each run (executions, cov, ft) and exits 1
# when a target crashed.
#
#   scripts/fuzz.sh [-t SECONDS] [TARGET...]     (default: 60 s, every target)
#
# Targets: onnx image csv coco yolo voc results request.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${VB_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=60
if [ "${1:-}" = "-t" ]; then
  seconds=$2
  shift 2
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(onnx image csv coco yolo voc results request)
fi

echo "== building the fuzz targets in $build"
CC=clang cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVB_FUZZ=ON \
  -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" -j "${VB_BUILD_JOBS:-2}" --target "${targets[@]/#/fuzz_}" >/dev/null
if [ ! -d "$build/seeds" ]; then
  "$root/scripts/fuzz-seeds.sh" "$build/seeds" >/dev/null
fi

failed=0
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t" "$build/crashes/$t" "$build/logs"
  log=$build/logs/$t.log
  started=$SECONDS
  # Leaks count as crashes (ASan's leak check runs after each input that
  # allocated); -timeout flags an input that takes more than 25 s.
  if nice -n 10 "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=25 \
       -print_final_stats=1 -artifact_prefix="$build/crashes/$t/" \
       "$build/corpus/$t" "$build/seeds/$t" >"$log" 2>&1; then
    status=ok
  else
    status=CRASH
    failed=1
  fi
  elapsed=$((SECONDS - started))
  summary=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  echo "$t: $status, ${execs:-?} executions in ${elapsed} s; last: $summary"
  if [ "$status" = CRASH ]; then
    grep -E 'ERROR: |runtime error|SUMMARY|Test unit written' "$log" | head -5 | sed 's/^/  /'
  fi
done
exit "$failed"
