#!/usr/bin/env bash
# Load benchmark of `visionbench serve`: wrk on loopback against GET /health and
# GET /status/{id} of a completed job, ~10 s each, printed as a Markdown table
# for docs/benchmarks.md.
# usage: bench/bench_server.sh [VISIONBENCH] [SHARED_DIR]
#   VISIONBENCH  the binary (default build/visionbench)
#   SHARED_DIR   folder with models/ and datasets/ (default ../shared). The
#                /status case needs it to create a job.
# Environment: WRK_THREADS (default 2), WRK_CONNECTIONS (default 50),
# WRK_DURATION (default 10s).
set -euo pipefail

cli=${1:-build/visionbench}
shared=${2:-../shared}
threads=${WRK_THREADS:-2}
connections=${WRK_CONNECTIONS:-50}
duration=${WRK_DURATION:-10s}
command -v wrk > /dev/null || { echo "bench_server.sh: wrk not found; install it" >&2; exit 1; }

work=$(mktemp -d /tmp/vb-bench-server.XXXXXX)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2> /dev/null || true
    wait "$server_pid" 2> /dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# A server on a free port, with FastestDet in its registry.
mkdir "$work/models"
if [ -f "$shared/models/FastestDet.onnx" ]; then
  ln -s "$(realpath "$shared/models/FastestDet.onnx")" "$work/models/FastestDet.onnx"
fi
"$cli" serve --listen 127.0.0.1:0 --db "sqlite:$work/jobs.db" --models-dir "$work/models" \
  --workers-max 1 2> "$work/server.log" &
server_pid=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/server.log")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "bench_server.sh: server did not start:" >&2; cat "$work/server.log" >&2; exit 1; }
base=http://127.0.0.1:$port

# A completed job for /status: one kaggle-car-video image.
job_id=
cars=$shared/datasets/kaggle-car-video
if [ -f "$work/models/FastestDet.onnx" ] && [ -d "$cars" ]; then
  job_id=$(python3 - "$cars" "$base" <<'PY'
import base64, json, sys, urllib.request
cars, base = sys.argv[1], sys.argv[2]
lines = open(cars + "/gt.csv").read().splitlines()
name = lines[1].split(",")[0]
csv = "\n".join([lines[0]] + [l for l in lines[1:] if l.startswith(name + ",")]) + "\n"
body = {"input": {"images": [{"name": name, "data": base64.b64encode(
    open(cars + "/images/" + name, "rb").read()).decode()}],
    "ground_truth_csv": base64.b64encode(csv.encode()).decode(), "models": ["FastestDet"],
    "options": {"warmup": 0}}}
req = urllib.request.Request(base + "/runsync?wait=60000", json.dumps(body).encode(),
                             {"Content-Type": "application/json"})
doc = json.load(urllib.request.urlopen(req))
print(doc["id"] if doc["status"] == "COMPLETED" else "")
PY
)
fi

# run_wrk NAME PATH: one wrk run, one table row.
run_wrk() {
  local out
  out=$(wrk -t"$threads" -c"$connections" -d"$duration" --latency "$base$2")
  local rps p99 errors non2xx
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<< "$out")
  p99=$(awk '$1 == "99%" {print $2}' <<< "$out")
  errors=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' <<< "$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<< "$out")
  echo "| $1 | $rps | $p99 | ${errors:-0} socket, ${non2xx:-0} non-2xx |"
}

echo "Command: bench/bench_server.sh ($(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2), -t$threads -c$connections -d$duration)"
echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores online"
echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "| route | requests/s | p99 latency | errors |"
echo "|---|---|---|---|"
run_wrk "GET /health" /health
if [ -n "$job_id" ]; then
  run_wrk "GET /status/{id} (completed job)" "/status/$job_id"
else
  echo "| GET /status/{id} | skipped: shared models or dataset not found | | |"
fi
