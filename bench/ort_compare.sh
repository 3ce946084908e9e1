#!/usr/bin/env bash
# Compares ONNX Runtime (onnxruntime-node 1.30.0, CPU) with `visionbench infer`
# on the shared models: inference latency, model load time and peak resident
# memory. The engines alternate in rounds, so both see the same machine load.
#
# Usage: bench/ort_compare.sh [options]
#   --cli PATH       visionbench binary (default: build/visionbench)
#   --shared DIR     shared data folder with models/ (default: ../shared)
#   --rounds R       rounds per model and thread count (default 10)
#   --runs N         timed runs per engine in each round (default 3), so each
#                    median is over R*N runs
#   --warmup W       untimed runs before them in each round (default 2)
#   --threads LIST   thread counts, comma-separated (default 1,2)
#   --models LIST    model names, comma-separated (default: the five detectors
#                    and classifiers the engine runs)
#   --ort-dir DIR    folder to install onnxruntime-node into, or that has it
#                    already (default: a new temporary folder)
#   --out DIR        keep the raw JSON results here (default: a temporary folder)
#
# Each round starts one process per engine, in alternating order: node running
# bench/ort_run.mjs, and `visionbench infer --json` under /usr/bin/time. The
# table gives the medians over all rounds' runs, the ratio visionbench / ONNX
# Runtime, the median load time (visionbench: parse and plan the model; ONNX
# Runtime: InferenceSession.create), and the median of the processes' peak
# resident memory (VmHWM). ONNX Runtime's peak includes node itself, so the
# table also gives it minus the resident memory node had after loading
# onnxruntime-node and before creating the session.
#
# Needs node, npm and /usr/bin/time. ONNXRUNTIME_NODE_INSTALL=skip keeps the
# package's install script from downloading GPU binaries; the CPU runtime is
# in the package itself. The environment reaches both engines, but OpenMP
# settings such as OMP_WAIT_POLICY only change visionbench: onnxruntime-node
# 1.30.0 for Linux x64 does not link an OpenMP runtime.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cli=$root/build/visionbench
shared=$root/../shared
rounds=10
runs=3
warmup=2
threads=1,2
models=yolov5n,yolov8n,yolox_nano,efficientnet_b0,FastestDet
ort_dir=
out=

while [ "$#" -gt 0 ]; do
  case "$1" in
    --cli) cli=$2; shift 2 ;;
    --shared) shared=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --ort-dir) ort_dir=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
    *) echo "ort_compare.sh: unknown option '$1'; see --help" >&2; exit 2 ;;
  esac
done

[ -x "$cli" ] || { echo "ort_compare.sh: visionbench not found at '$cli'; build it or pass --cli" >&2; exit 1; }
[ -d "$shared/models" ] || { echo "ort_compare.sh: '$shared/models' not found; pass --shared" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "ort_compare.sh: /usr/bin/time not found; install the 'time' package" >&2; exit 1; }
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

# Input shape of each shared model (NCHW), as ONNX Runtime needs it.
input_shape() {
  case "$1" in
    yolov5n|yolov8n) echo 1,3,640,640 ;;
    yolox_nano) echo 1,3,416,416 ;;
    efficientnet_b0) echo 1,3,224,224 ;;
    FastestDet) echo 1,3,352,352 ;;
    fasterrcnn_mobilenet_v3_320) echo 1,3,320,320 ;;
    *) echo "ort_compare.sh: no input shape known for model '$1'" >&2; return 1 ;;
  esac
}

run_ort() {  # model threads round
  local shape
  shape=$(input_shape "$1")
  (cd "$ort_dir" && node "$root/bench/ort_run.mjs" "$shared/models/$1.onnx" \
    "$shared/models/$1.input.f32" "$shape" "$2" "$runs" "$warmup") > "$out/ort_$1_$2_$3.json"
}

run_vb() {  # model threads round
  /usr/bin/time -f %M -o "$out/vb_$1_$2_$3.kib" "$cli" infer --model "$shared/models/$1.onnx" \
    --input "$shared/models/$1.input.f32" --threads "$2" --runs "$runs" --warmup "$warmup" \
    --json > "$out/vb_$1_$2_$3.json"
}

# Alternate the engines round by round, swapping which one goes first.
IFS=, read -r -a model_list <<< "$models"
IFS=, read -r -a thread_list <<< "$threads"
cut -d' ' -f1-3 /proc/loadavg > "$out/load_start.txt"
for model in "${model_list[@]}"; do
  for t in "${thread_list[@]}"; do
    echo "measuring $model at $t thread(s), $rounds rounds" >&2
    for ((r = 0; r < rounds; r++)); do
      if ((r % 2 == 0)); then
        run_ort "$model" "$t" "$r"
        run_vb "$model" "$t" "$r"
      else
        run_vb "$model" "$t" "$r"
        run_ort "$model" "$t" "$r"
      fi
    done
  done
done
cut -d' ' -f1-3 /proc/loadavg > "$out/load_end.txt"

# Print the tables: pooled medians, ratios, load times and peak memory.
node - "$out" "$models" "$threads" "$rounds" <<'EOF'
const fs = require('fs');
const path = require('path');
const [dir, models, threads, roundsText] = process.argv.slice(2);
const rounds = Number(roundsText);
const read = (name) => fs.readFileSync(path.join(dir, name), 'utf8');
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const f = (x) => x.toFixed(2);
const mib = (kib) => (kib / 1024).toFixed(1);
console.log(`load average (1, 5, 15 min): ${read('load_start.txt').trim()} at the start, ${read('load_end.txt').trim()} at the end\n`);
console.log('| model | threads | ORT median ms | vb median ms | ratio | ORT min ms | vb min ms | ORT create ms | vb load ms | load ratio | ORT peak MiB | ORT peak - node MiB | vb peak MiB |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const m of models.split(',')) {
  for (const t of threads.split(',')) {
    const ort = { times: [], create: [], hwm: [], extra: [] };
    const vb = { times: [], load: [], hwm: [] };
    for (let r = 0; r < rounds; r++) {
      const o = JSON.parse(read(`ort_${m}_${t}_${r}.json`));
      ort.times.push(...o.times_ms);
      ort.create.push(o.create_ms);
      ort.hwm.push(o.hwm_kib);
      ort.extra.push(o.hwm_kib - o.rss_base_kib);
      const v = JSON.parse(read(`vb_${m}_${t}_${r}.json`));
      vb.times.push(...v.times_ms);
      vb.load.push(v.load_ms);
      vb.hwm.push(Number(read(`vb_${m}_${t}_${r}.kib`).trim().split('\n').pop()));
    }
    const om = median(ort.times), vm = median(vb.times);
    const oc = median(ort.create), vl = median(vb.load);
    console.log(`| ${m} | ${t} | ${f(om)} | ${f(vm)} | ${f(vm / om)} | ${f(Math.min(...ort.times))} | ` +
      `${f(Math.min(...vb.times))} | ${f(oc)} | ${f(vl)} | ${f(vl / oc)} | ${mib(median(ort.hwm))} | ` +
      `${mib(median(ort.extra))} | ${mib(median(vb.hwm))} |`);
  }
}
EOF
echo "raw results: $out" >&2
