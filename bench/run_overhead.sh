#!/usr/bin/env bash
# Measures what `visionbench run` adds on top of the measured work: the run's
# wall time against decode + model loads + warm-up + timed passes +
# evaluation, as the run JSON's metadata.overhead reports them. Prints one
# line per repetition and a text bar chart of where the time went.
#
# usage: bench/run_overhead.sh [--cli PATH] [--shared DIR] [--repeat N] [--out DIR]
set -euo pipefail

cli=build/visionbench
shared=../shared
repeat=3
out=/tmp/vb_run_overhead
while [ "$#" -gt 0 ]; do
  case "$1" in
  --cli) cli=$2; shift 2 ;;
  --shared) shared=$2; shift 2 ;;
  --repeat) repeat=$2; shift 2 ;;
  --out) out=$2; shift 2 ;;
  *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
dataset=$shared/datasets/coco128-street

for i in $(seq 1 "$repeat"); do
  "$cli" run --images "$dataset/images" --gt "$dataset/gt.csv" \
    --model "$shared/models/yolox_nano.onnx" --model "$shared/models/yolov8n.onnx" \
    --model "$shared/models/FastestDet.onnx" --bootstrap 1000 --no-progress \
    --json "$out/run$i.json" > "$out/run$i.txt"
  python3 - "$out/run$i.json" "$i" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))["metadata"]["overhead"]
parts = ["decode_s", "validation_s", "load_s", "warmup_s", "timed_s", "evaluation_s", "other_s"]
print(f"run {sys.argv[2]}: wall {o['wall_s']:.2f} s, " +
      ", ".join(f"{p[:-2]} {o[p]:.3f} s" for p in parts) +
      f", other {100 * o['other_fraction']:.2f}% of wall")
# The strict view: only decode, model loads and per-image work (preprocess,
# inference, postprocess) count as work; warm-up and evaluation are overhead.
work = o["decode_s"] + o["validation_s"] + o["load_s"] + o["image_work_s"]
print(f"  strict: wall / (decode + loads + per-image work) = {o['wall_s'] / work:.4f}")
if sys.argv[2] == "1":
    for p in parts:
        bar = "#" * max(0, round(60 * o[p] / o["wall_s"]))
        print(f"  {p[:-2]:<11} {o[p]:8.3f} s {bar}")
PY
done
