#!/usr/bin/env bash
# Compares two builds of visionbench on one model: the builds alternate in
# rounds, so both see the same machine load, and the script prints both
# medians, their ratio (B / A) and both fastest runs.
#
# Usage: bench/ab_builds.sh [options] CLI_A CLI_B MODEL
#   CLI_A, CLI_B     the two visionbench binaries (A is the baseline)
#   MODEL            a model name in SHARED/models (MODEL.onnx, MODEL.input.f32)
#   --shared DIR     shared data folder with models/ (default: ../shared)
#   --threads T      threads per run (default 1)
#   --rounds R       rounds, each one process per build (default 8)
#   --runs N         timed runs per process (default 10), after 2 untimed ones
#
# A build of an earlier commit goes in its own worktree, for example:
#   git worktree add /tmp/base 228f5c8 && cmake -S /tmp/base -B /tmp/base/build \
#       -DCMAKE_BUILD_TYPE=Release && cmake --build /tmp/base/build --target visionbench
# Needs python3 for the statistics.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
shared=$root/../shared
threads=1
rounds=8
runs=10
args=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --shared) shared=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) echo "ab_builds.sh: unknown option '$1'; see --help" >&2; exit 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
if [ "${#args[@]}" -ne 3 ]; then
  echo "ab_builds.sh: expected CLI_A CLI_B MODEL, got ${#args[@]} arguments; see --help" >&2
  exit 2
fi
cli_a=${args[0]}
cli_b=${args[1]}
model=${args[2]}
for cli in "$cli_a" "$cli_b"; do
  [ -x "$cli" ] || {
    echo "ab_builds.sh: visionbench '$cli' not found or not executable; build it or fix the path" >&2
    exit 1
  }
done
[ -f "$shared/models/$model.onnx" ] || {
  echo "ab_builds.sh: model '$shared/models/$model.onnx' not found; pass --shared or another model name" >&2
  exit 1
}

# One line per process: the build's letter and its run times in ms.
times_of() {  # letter cli
  "$2" infer --model "$shared/models/$model.onnx" --input "$shared/models/$model.input.f32" \
    --threads "$threads" --runs "$runs" --warmup 2 --json |
    python3 -c "import json, sys; print('$1', *json.load(sys.stdin)['times_ms'])"
}

for round in $(seq "$rounds"); do
  # Swap which build goes first every round.
  if [ $((round % 2)) -eq 1 ]; then
    times_of A "$cli_a"
    times_of B "$cli_b"
  else
    times_of B "$cli_b"
    times_of A "$cli_a"
  fi
done | python3 -c "
import statistics, sys
times = {'A': [], 'B': []}
for line in sys.stdin:
    letter, *values = line.split()
    times[letter] += [float(v) for v in values]
a, b = statistics.median(times['A']), statistics.median(times['B'])
print('$model, $threads thread(s), %d runs per build' % len(times['A']))
print('A median %.3f ms, fastest %.3f ms' % (a, min(times['A'])))
print('B median %.3f ms, fastest %.3f ms' % (b, min(times['B'])))
print('B / A: median %.3f, fastest %.3f' % (b / a, min(times['B']) / min(times['A'])))
"
