// Times one ONNX Runtime (onnxruntime-node) session for bench/ort_compare.sh:
// session creation, then WARMUP untimed and RUNS timed calls of session.run().
// Usage: node ort_run.mjs MODEL.onnx INPUT.f32 D,D,D,D THREADS RUNS WARMUP
// Run it from a folder whose node_modules has onnxruntime-node. The session
// uses graphOptimizationLevel 'all', sequential execution and one inter-op
// thread.
// Prints one JSON object with these fields:
//   create_ms     time of InferenceSession.create
//   times_ms      wall clock around each timed session.run, input and output
//                 marshalling included
//   rss_base_kib  resident memory (VmRSS) after loading onnxruntime-node and
//                 the input, before creating the session
//   hwm_kib       peak resident memory (VmHWM) of the process at exit
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const require = createRequire(path.join(process.cwd(), 'x.js'));
const ort = require('onnxruntime-node');

const [model, input, shapeText, threadsText, runsText, warmupText] = process.argv.slice(2);
const shape = shapeText.split(',').map(Number);
const threads = Number(threadsText);
const runs = Number(runsText);
const warmup = Number(warmupText);

// Reads one field of /proc/self/status in KiB.
function statusKib(field) {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const match = status.match(new RegExp(`^${field}:\\s*(\\d+) kB`, 'm'));
  return match ? Number(match[1]) : null;
}

const bytes = fs.readFileSync(input);
const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
const tensor = new ort.Tensor('float32', data, shape);
const rssBase = statusKib('VmRSS');

const t0 = process.hrtime.bigint();
const session = await ort.InferenceSession.create(model, {
  graphOptimizationLevel: 'all', executionMode: 'sequential', intraOpNumThreads: threads, interOpNumThreads: 1 });
const createMs = Number(process.hrtime.bigint() - t0) / 1e6;

const feeds = { [session.inputNames[0]]: tensor };
for (let i = 0; i < warmup; i++) await session.run(feeds);
const times = [];
for (let i = 0; i < runs; i++) {
  const start = process.hrtime.bigint();
  await session.run(feeds);
  times.push(Number(process.hrtime.bigint() - start) / 1e6);
}
await session.release();
console.log(JSON.stringify({ create_ms: createMs, times_ms: times, rss_base_kib: rssBase, hwm_kib: statusKib('VmHWM') }));
