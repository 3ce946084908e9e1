#!/usr/bin/env bash
# Times ONNX Runtime (onnxruntime-node 1.30.0, CPU) and `visionbench infer`
# on the shared models, alternating the two per model and thread count, and
# prints a Markdown table of medians with the ratio visionbench / ONNX Runtime.
#
# Usage: bench/ort_compare.sh [options]
#   --cli PATH       visionbench binary (default: build/visionbench)
#   --shared DIR     shared data folder with models/ (default: ../shared)
#   --runs N         timed runs per measurement (default 30)
#   --warmup W       untimed runs before them (default 3)
#   --threads LIST   thread counts, comma-separated (default 1,2)
#   --models LIST    model names, comma-separated (default: the five detectors
#                    and classifiers the engine runs)
#   --ort-dir DIR    folder to install onnxruntime-node into, or that has it
#                    already (default: a new temporary folder)
#   --out DIR        keep the raw JSON results here (default: a temporary folder)
# Needs node and npm. ONNXRUNTIME_NODE_INSTALL=skip keeps the package's
# install script from downloading GPU binaries; the CPU runtime is in the
# package itself. The environment reaches both engines, but OpenMP settings
# such as OMP_WAIT_POLICY only change visionbench: onnxruntime-node 1.30.0
# for Linux x64 does not link an OpenMP runtime.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cli=$root/build/visionbench
shared=$root/../shared
runs=30
warmup=3
threads=1,2
models=yolov5n,yolov8n,yolox_nano,efficientnet_b0,FastestDet
ort_dir=
out=

while [ "$#" -gt 0 ]; do
  case "$1" in
    --cli) cli=$2; shift 2 ;;
    --shared) shared=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --ort-dir) ort_dir=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "ort_compare.sh: unknown option '$1'; see --help" >&2; exit 2 ;;
  esac
done

[ -x "$cli" ] || { echo "ort_compare.sh: visionbench not found at '$cli'; build it or pass --cli" >&2; exit 1; }
[ -d "$shared/models" ] || { echo "ort_compare.sh: '$shared/models' not found; pass --shared" >&2; exit 1; }
cli=$(cd "$(dirname "$cli")" && pwd)/$(basename "$cli")
shared=$(cd "$shared" && pwd)

# Install onnxruntime-node unless the folder has it already.
if [ -z "$ort_dir" ]; then
  ort_dir=$(mktemp -d)
  trap 'rm -rf "$ort_dir"' EXIT
fi
mkdir -p "$ort_dir"
ort_dir=$(cd "$ort_dir" && pwd)
if [ ! -d "$ort_dir/node_modules/onnxruntime-node" ]; then
  echo "installing onnxruntime-node 1.30.0 into $ort_dir" >&2
  (cd "$ort_dir" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund \
    onnxruntime-node@1.30.0 >&2)
fi
if [ -z "$out" ]; then
  out=$(mktemp -d)
fi
mkdir -p "$out"

# Alternate the engines for every model and thread count.
IFS=, read -r -a model_list <<< "$models"
IFS=, read -r -a thread_list <<< "$threads"
for model in "${model_list[@]}"; do
  for t in "${thread_list[@]}"; do
    echo "measuring $model at $t thread(s)" >&2
    (cd "$ort_dir" && node "$shared/models/tools/ort_latency.mjs" "$shared/models" \
      "$out/ort_${model}_$t.json" "$runs" "$warmup" "$t" "$model" > /dev/null)
    "$cli" infer --model "$shared/models/$model.onnx" --input "$shared/models/$model.input.f32" \
      --threads "$t" --runs "$runs" --warmup "$warmup" --json > "$out/vb_${model}_$t.json"
  done
done

# Print the table: medians, the ratio, and both engines' minimum.
node - "$out" "$models" "$threads" <<'EOF'
const fs = require('fs');
const path = require('path');
const [dir, models, threads] = process.argv.slice(2);
const f = (x) => x.toFixed(2);
console.log('| model | threads | ORT median ms | visionbench median ms | ratio (vb/ORT) | ORT min ms | visionbench min ms |');
console.log('|---|---|---|---|---|---|---|');
for (const m of models.split(',')) {
  for (const t of threads.split(',')) {
    const ort = JSON.parse(fs.readFileSync(path.join(dir, `ort_${m}_${t}.json`), 'utf8')).results[0];
    const vb = JSON.parse(fs.readFileSync(path.join(dir, `vb_${m}_${t}.json`), 'utf8'));
    console.log(`| ${m} | ${t} | ${f(ort.median_ms)} | ${f(vb.median_ms)} | ${f(vb.median_ms / ort.median_ms)} | ${f(ort.min_ms)} | ${f(vb.min_ms)} |`);
  }
}
EOF
echo "raw results: $out" >&2
