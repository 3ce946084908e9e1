#!/usr/bin/env bash
# Runs one `visionbench run` test case against the shared models and datasets.
# usage: run_case.sh CASE CHECK_RUN_JSON SCHEMA
# Needs VB_CLI, VB_SHARED_DIR and VB_BINARY_DIR (set by CTest). Exits 77
# (skipped) when the shared data is absent.
set -u
case_name=$1
check=$2
schema=$3

shared=${VB_SHARED_DIR:-}
if [ -z "$shared" ] || [ ! -d "$shared/models" ] || [ ! -d "$shared/datasets" ]; then
  echo "skipped: shared data folder not found (set VB_SHARED_DIR; got '${shared}')"
  exit 77
fi
models=$shared/models
street=$shared/datasets/coco128-street
work=$VB_BINARY_DIR/run-tests/$case_name
rm -rf "$work"
mkdir -p "$work/images"

failures=0
# expect_status WANT GOT: compares exit statuses.
expect_status() {
  if [ "$1" != "$2" ]; then
    echo "FAIL: expected exit status $1, got $2"
    failures=$((failures + 1))
  fi
}
# expect_text FILE TEXT: FILE must contain TEXT.
expect_text() {
  if ! grep -qF -- "$2" "$1"; then
    echo "FAIL: $1 does not contain: $2"
    cat "$1"
    failures=$((failures + 1))
  fi
}
# report CHECK...: validates report.json against the schema and checks values.
report() {
  if ! "$check" "$schema" "$work/report.json" "$@"; then
    failures=$((failures + 1))
  fi
}

# A three-image dataset cut from coco128-street keeps the quick cases fast.
make_tiny() {
  head -n 1 "$street/gt.csv" > "$work/gt.csv"
  for name in $(tail -n +2 "$street/gt.csv" | cut -d, -f1 | sort -u | head -n 3); do
    cp "$street/images/$name" "$work/images/"
    grep "^$name," "$street/gt.csv" >> "$work/gt.csv"
  done
}

# run_tiny ARGS...: runs FastestDet-based models on the tiny dataset.
run_tiny() {
  "$VB_CLI" run --images "$work/images" --gt "$work/gt.csv" --warmup 1 --bootstrap 20 \
    --no-progress --json "$work/report.json" "$@" > "$work/stdout" 2> "$work/stderr"
}

case "$case_name" in
full)
  "$VB_CLI" run --images "$street/images" --gt "$street/gt.csv" \
    --model "$models/yolox_nano.onnx" --model "$models/yolov8n.onnx" --bootstrap 200 \
    --no-progress --json "$work/report.json" > "$work/stdout" 2> "$work/stderr"
  expect_status 0 $?
  report status=ok results#2 results.yolox_nano.status=ok results.yolov8n.status=ok \
    'results.yolox_nano.accuracy.map>0.2' 'results.yolox_nano.accuracy.map50>0.3' \
    results.yolox_nano.model.family=yolox results.yolov8n.model.family=yolov8 \
    results.yolox_nano.speed.samples=40 'results.yolox_nano.speed.throughput>0' \
    'results.yolox_nano.carbon.energy_j>0' 'results.yolox_nano.carbon.green_score>0' \
    'results.yolox_nano.memory.peak_mb>0' metadata.dataset.images=40 \
    metadata.dataset.annotations=70 metadata.dataset.skipped#0 \
    comparison.best_accuracy=yolox_nano comparison.rankings.speed#2 \
    'metadata.overhead.other_fraction<0.1' results.yolov8n.model.parameters=3151776 \
    'results.yolov8n.model.engine_parameters>0' 'results.yolov8n.carbon.co2_per_image_kg>0' \
    'metadata.machine.load_average_start>-1' 'metadata.machine.load_average_end>-1'
  expect_text "$work/stdout" "best accuracy: yolox_nano"
  expect_text "$work/stdout" "CO2 mg/img"
  expect_text "$work/stdout" "peak MiB"
  ;;
crash)
  make_tiny
  VB_TEST_CRASH_MODEL=bad run_tiny --model "ok=$models/FastestDet.onnx" \
    --model "bad=$models/FastestDet.onnx"
  expect_status 1 $?
  # Under AddressSanitizer the SIGSEGV handler exits with status 1 instead
  # of dying from the signal; both count as crashed, with their own message.
  report status=partial results.ok.status=ok results.bad.status=crashed \
    'results.bad.error~the ' results.bad.speed.throughput=null \
    comparison.best_accuracy=ok comparison.fastest=ok
  expect_text "$work/stdout" "crashed"
  ;;
oom)
  make_tiny
  VB_TEST_OOM_MODEL=big run_tiny --repeat 2 --model "big=$models/FastestDet.onnx" \
    --model "ok=$models/FastestDet.onnx"
  expect_status 1 $?
  # --repeat 2 times every image twice; detections come from the first pass.
  report status=partial results.big.status=oom 'results.big.error~out-of-memory' \
    results.ok.status=ok results.ok.speed.samples=6 results.ok.speed.end_to_end_ms.count=6
  ;;
timeout)
  make_tiny
  start=$(date +%s)
  VB_TEST_HANG_MODEL=slow run_tiny --timeout 20 --model "slow=$models/FastestDet.onnx" \
    --model "ok=$models/FastestDet.onnx"
  expect_status 1 $?
  elapsed=$(( $(date +%s) - start ))
  report status=partial results.slow.status=timeout 'results.slow.error~timed out after 20 s' \
    results.ok.status=ok
  if [ "$elapsed" -gt 60 ]; then
    echo "FAIL: the timed-out model held the run for ${elapsed} s"
    failures=$((failures + 1))
  fi
  ;;
killed)
  # A run killed with SIGKILL takes its model process with it.
  make_tiny
  VB_TEST_HANG_MODEL=slow "$VB_CLI" run --images "$work/images" --gt "$work/gt.csv" \
    --warmup 0 --no-progress --timeout 60 --model "slow=$models/FastestDet.onnx" \
    > "$work/stdout" 2> "$work/stderr" &
  parent=$!
  child=""
  for _ in $(seq 100); do
    child=$(pgrep -P "$parent" | head -n 1)
    [ -n "$child" ] && break
    sleep 0.1
  done
  if [ -z "$child" ]; then
    echo "FAIL: the run started no model process within 10 s"
    failures=$((failures + 1))
  fi
  kill -9 "$parent"
  wait "$parent" 2> /dev/null
  # A zombie waiting for its new parent to reap it has stopped running.
  for _ in $(seq 50); do
    state=$(awk '{print $3}' "/proc/$child/stat" 2> /dev/null)
    [ -z "$state" ] || [ "$state" = Z ] && break
    sleep 0.1
  done
  if [ -n "$child" ] && [ -n "$state" ] && [ "$state" != Z ]; then
    echo "FAIL: model process $child still runs (state $state) after its run was killed"
    kill -9 "$child"
    failures=$((failures + 1))
  fi
  ;;
bad_model)
  make_tiny
  echo "this is not an ONNX model" > "$work/text.onnx"
  head -c 4000 "$models/FastestDet.onnx" > "$work/truncated.onnx"
  run_tiny --model "text=$work/text.onnx" --model "truncated=$work/truncated.onnx" \
    --model "missing=$work/no_such_model.onnx" --model "folder=$models" \
    --model "ok=$models/FastestDet.onnx"
  expect_status 1 $?
  report status=partial results.text.status=error results.truncated.status=error \
    results.folder.status=error 'results.folder.error~is a folder, not an ONNX file' \
    results.missing.status=error 'results.missing.error~not found' results.ok.status=ok \
    results.text.carbon.co2_kg=null comparison.best_accuracy=ok
  ;;
bad_images)
  bad=$shared/datasets/bad-inputs
  run_tiny_bad() {
    "$VB_CLI" run --images "$bad/images" --gt "$bad/csv/header_only.csv" --warmup 1 \
      --bootstrap 0 --no-progress --json "$work/report.json" "$@" \
      > "$work/stdout" 2> "$work/stderr"
  }
  run_tiny_bad --model "$models/FastestDet.onnx"
  expect_status 0 $?
  report status=ok results.FastestDet.status=ok \
    'metadata.dataset.skipped%zero_bytes.jpg' 'metadata.dataset.skipped%text_named.jpg' \
    'metadata.dataset.skipped%truncated.jpg' 'metadata.dataset.skipped%bad_crc.png' \
    'metadata.dataset.skipped%bad_crc_ihdr.png' metadata.dataset.skipped#5 \
    metadata.dataset.images=14 results.FastestDet.speed.samples=14
  # The same folder with --on-bad-image fail stops before any model runs.
  run_tiny_bad --model "$models/FastestDet.onnx" --on-bad-image fail
  expect_status 1 $?
  expect_text "$work/stderr" "--on-bad-image fail"
  # Each skipped image appears once in the footer, by file name.
  run_tiny_bad --model "$models/FastestDet.onnx"
  if [ "$(grep -c '^skipped bad_crc.png:' "$work/stdout")" != 1 ]; then
    echo "FAIL: bad_crc.png is not listed exactly once in the footer"
    cat "$work/stdout"
    failures=$((failures + 1))
  fi
  expect_text "$work/stderr" "ground-truth warnings:"
  expect_text "$work/stderr" "more in the JSON report"
  ;;
options)
  make_tiny
  run_tiny --model "$models/FastestDet.onnx" --conf 1.5
  expect_status 2 $?
  expect_text "$work/stderr" "--conf: invalid value '1.5'; expected a number from 0 to 1"
  "$VB_CLI" run --images "$work/images" --model "$models/FastestDet.onnx" 2> "$work/stderr"
  expect_status 2 $?
  expect_text "$work/stderr" "--gt FILE is required"
  run_tiny --model "$models/FastestDet.onnx" --country ZZ
  expect_status 2 $?
  expect_text "$work/stderr" "--country: 'ZZ' is not in the built-in table"
  run_tiny --model "a=$models/FastestDet.onnx" --model "a=$models/yolox_nano.onnx"
  expect_status 2 $?
  expect_text "$work/stderr" "the name 'a' is used twice"
  run_tiny --model "$models/FastestDet.onnx" --on-bad-image maybe
  expect_status 2 $?
  expect_text "$work/stderr" "expected skip or fail"
  run_tiny --model "$models/FastestDet.onnx" --imgsz 100
  expect_status 2 $?
  expect_text "$work/stderr" "multiple of 32"
  "$VB_CLI" run --images "$work/no_such_folder" --gt "$work/gt.csv" \
    --model "$models/FastestDet.onnx" --no-progress 2> "$work/stderr"
  expect_status 1 $?
  expect_text "$work/stderr" "is not a folder"
  # An unwritable --json folder stops the run before any model runs.
  "$VB_CLI" run --images "$work/images" --gt "$work/gt.csv" --model "$models/FastestDet.onnx" \
    --json "$work/no_such_folder/report.json" --no-progress > "$work/stdout" 2> "$work/stderr"
  expect_status 1 $?
  expect_text "$work/stderr" "no_such_folder' of"
  if [ -s "$work/stdout" ]; then
    echo "FAIL: the run went ahead with an unwritable --json folder"
    failures=$((failures + 1))
  fi
  # eval reads only COCO JSON and says so for a CSV file.
  "$VB_CLI" eval --gt "$work/gt.csv" --dets "$work/gt.csv" 2> "$work/stderr"
  expect_status 1 $?
  expect_text "$work/stderr" "eval needs COCO JSON ground truth"
  # A dataset folder given as --gt is not a label folder: the error names its gt.csv.
  "$VB_CLI" run --images "$shared/datasets/kitti-mini/images" --gt "$shared/datasets/kitti-mini" \
    --model "$models/FastestDet.onnx" --no-progress 2> "$work/stderr"
  expect_status 1 $?
  expect_text "$work/stderr" "not a YOLO or Pascal VOC label folder"
  expect_text "$work/stderr" "kitti-mini/gt.csv"
  ;;
classifier)
  # A classifier is scored per image (F1) and ranked apart from detectors.
  make_tiny
  run_tiny --model "$models/efficientnet_b0.onnx" --model "$models/FastestDet.onnx"
  expect_status 0 $?
  report status=ok results.efficientnet_b0.model.task=classify \
    results.efficientnet_b0.model.family=classifier results.efficientnet_b0.accuracy.map=null \
    'results.efficientnet_b0.accuracy.f1>-1' \
    comparison.best_accuracy=FastestDet comparison.pareto_front#1
  # On these three street images the ImageNet classifier scores F1 0, and a
  # winner at 0 would mislead, so there is none.
  report results.efficientnet_b0.accuracy.f1=0 comparison.best_classifier=null
  ;;
class_map)
  # A one-entry class map for an 80-class model warns on stderr and in the
  # model's warnings. Model index 0 (person) read as car scores mAP 0, so no
  # model wins on accuracy. A ground-truth row for a missing image is a
  # ground-truth warning on stderr and a separate count in the footer.
  make_tiny
  echo "0,car" > "$work/map.csv"
  echo "missing_x.jpg,1,1,5,5,car" >> "$work/gt.csv"
  run_tiny --model "$models/FastestDet.onnx" --class-map "$work/map.csv"
  expect_status 0 $?
  expect_text "$work/stderr" "has 1 entry but the model outputs 80 classes"
  expect_text "$work/stderr" "warning: 1 ground-truth warning:"
  expect_text "$work/stderr" "missing_x.jpg"
  expect_text "$work/stdout" "3 images (0 skipped; 1 ground-truth name not found)"
  expect_text "$work/stdout" "best accuracy: -"
  report status=ok results.FastestDet.model.warnings#1 \
    'results.FastestDet.model.warnings.0~has 1 entry' results.FastestDet.accuracy.map=0 \
    comparison.best_accuracy=null comparison.most_efficient=null
  ;;
schema_rejects)
  # The validator must reject a report that breaks the schema.
  make_tiny
  run_tiny --model "$models/FastestDet.onnx" --country FR --pue 1.2
  expect_status 0 $?
  report status=ok metadata.carbon_settings.grid_g_per_kwh=67.4 metadata.carbon_settings.pue=1.2
  sed -e 's/"status": "ok"/"status": "fine"/' -e 's/"clock": "CLOCK_MONOTONIC"/"clock": 5/' \
    "$work/report.json" > "$work/broken.json"
  if "$check" "$schema" "$work/broken.json" 2> "$work/check_stderr"; then
    echo "FAIL: the schema check accepted a broken report"
    failures=$((failures + 1))
  fi
  expect_text "$work/check_stderr" "status: value \"fine\" is not in the enum"
  expect_text "$work/check_stderr" "speed.clock: value 5 is not in the enum"
  ;;
*)
  echo "unknown case $case_name"
  exit 2
  ;;
esac

if [ "$failures" -ne 0 ]; then
  echo "$case_name: $failures failure(s); outputs in $work"
  exit 1
fi
echo "$case_name: passed"
