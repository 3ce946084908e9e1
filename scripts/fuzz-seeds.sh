#!/usr/bin/env bash
# Writes seed corpora for the libFuzzer harnesses, one folder per target
# under OUT (default build-fuzz/seeds), from small valid and broken inputs:
# models from tests/bad_models/make_bad_models.c, texts written here, and
# the bad-input set of the shared data folder when it exists. Nothing it
# writes is committed.
#
#   scripts/fuzz-seeds.sh [OUT] [SHARED_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build-fuzz/seeds}
shared=${2:-${VB_SHARED_DIR:-$root/../shared}}
bad=$shared/datasets/bad-inputs

for t in onnx image csv coco yolo voc results request; do
  mkdir -p "$out/$t"
done

# Copies the files matching a glob into a target folder when there are any
# (the shared folder is optional). Files above 64 KiB are left out so that
# libFuzzer's default maximum input length stays small.
copy_small() {
  local target=$1; shift
  local f
  for f in "$@"; do
    [ -f "$f" ] || continue
    [ "$(stat -c %s "$f")" -le 65536 ] || continue
    cp "$f" "$out/$target/$(basename "$(dirname "$f")")_$(basename "$f")"
  done
}

# ONNX: the small models make_bad_models writes (a valid Relu model, an
# empty file, a JPEG, a huge dimension, missing external data).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -std=c11 -D_POSIX_C_SOURCE=200809L -I "$root/tests" -o "$tmp/make_bad_models" \
  "$root/tests/bad_models/make_bad_models.c"
"$tmp/make_bad_models" "$tmp/models" >/dev/null
cp "$tmp"/models/*.onnx "$out/onnx/"

# Images: the shared bad-input images (JPEG and PNG variants).
copy_small image "$bad"/images/*

# CSV ground truth.
printf 'image,xmin,ymin,xmax,ymax,label\nroad_a.png,2,3,20,18,car\nroad_b.png,1,1,30,22,truck\n' \
  >"$out/csv/inline_good.csv"
copy_small csv "$bad"/csv/*.csv

# COCO ground truth and COCO results.
cat >"$out/coco/inline_good.json" <<'JSON'
{"images":[{"id":1,"file_name":"road_a.png","width":32,"height":24},
{"id":2,"file_name":"road_b.png","width":32,"height":24}],
"annotations":[{"id":1,"image_id":1,"category_id":3,"bbox":[2,3,18,15],"area":270,"iscrowd":0},
{"id":2,"image_id":2,"category_id":1,"bbox":[1,1,5,5],"area":25,"iscrowd":1}],
"categories":[{"id":1,"name":"person"},{"id":3,"name":"car"}]}
JSON
copy_small coco "$bad"/coco/*.json "$shared"/coco-cases/*/gt.json
cat >"$out/results/inline_good.json" <<'JSON'
[{"image_id":1,"category_id":3,"bbox":[2,3,18,15],"score":0.9},
{"image_id":2,"category_id":1,"bbox":[1.5,1,5,5],"score":0.25}]
JSON
copy_small results "$shared"/coco-cases/*/dets.json

# YOLO: "NAMES\n---\nLABELS" also writes a class list (see fuzz/fuzz_yolo.c).
printf '0 0.4 0.5 0.5 0.5\n1 0.1 0.1 0.05 0.05\n' >"$out/yolo/inline_coco80.txt"
printf 'car\ntruck\n---\n1 0.5 0.5 0.25 0.25\n' >"$out/yolo/inline_classes.txt"
printf 'names: [car, truck]\n---\n0 0.5 0.5 0.25 0.25\n' >"$out/yolo/inline_yaml.txt"
copy_small yolo "$bad"/yolo/*/*.txt

# Pascal VOC.
cat >"$out/voc/inline_good.xml" <<'XML'
<?xml version="1.0"?>
<annotation><filename>road_a.png</filename>
<size><width>32</width><height>24</height><depth>3</depth></size>
<object><name>car</name><difficult>0</difficult>
<bndbox><xmin>3</xmin><ymin>4</ymin><xmax>20</xmax><ymax>18</ymax></bndbox></object>
<object><name>truck</name><difficult>1</difficult>
<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>40</xmax><ymax>10</ymax></bndbox></object>
</annotation>
XML

# visionbench serve request bodies: a bare image, a named image with CSV
# ground truth, and COCO ground truth given as an object.
png=$bad/images/one_pixel.png
if [ -f "$png" ]; then
  img=$(base64 -w0 "$png")
  csv=$(printf 'image,xmin,ymin,xmax,ymax,label\na.png,0,0,1,1,car\n' | base64 -w0)
  printf '{"input":{"images":["%s"],"ground_truth_csv":"%s","models":["tiny"]}}' \
    "$img" "$csv" >"$out/request/bare_image.json"
  printf '{"input":{"images":[{"name":"a.png","data":"%s"}],"ground_truth_csv":"%s",'\
'"models":["tiny"],"options":{"conf":0.25,"iou":0.7,"threads":1,"warmup":0,"repeat":1,'\
'"classes":["car"]}}}' "$img" "$csv" >"$out/request/named_image.json"
  printf '{"input":{"images":[{"name":"a.png","data":"%s"}],"ground_truth_coco":'\
'{"images":[{"id":1,"file_name":"a.png","width":1,"height":1}],"annotations":[],'\
'"categories":[{"id":3,"name":"car"}]},"models":["tiny"]}}' "$img" >"$out/request/coco.json"
fi
printf '{"input":{"images":[],"models":["tiny"]}}' >"$out/request/no_images.json"

for t in onnx image csv coco yolo voc results request; do
  echo "$t: $(ls "$out/$t" | wc -l) seeds"
done
