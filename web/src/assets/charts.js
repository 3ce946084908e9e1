// Charts of run reports and history, drawn with Chart.js (loaded as the global Chart by index.html).

import { COLUMNS, columnValue, modelEntries, pick } from './report.js';

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

export function colorFor(index) {
  return PALETTE[index % PALETTE.length];
}

// Charts drawn on each canvas, so a redraw can destroy the old one first.
const charts = new WeakMap();

function draw(canvas, config) {
  const old = charts.get(canvas);
  if (old) old.destroy();
  config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options);
  const chart = new window.Chart(canvas, config);
  charts.set(canvas, chart);
  return chart;
}

// Scatter of mAP against median end-to-end latency, one point per finished
// model, with comparison.pareto_front joined as a line (fastest first).
export function drawAccuracyLatency(canvas, report) {
  const entries = modelEntries(report);
  const datasets = [];
  entries.forEach(([name, result], i) => {
    const x = pick(result, 'speed.end_to_end_ms.p50');
    const y = pick(result, 'accuracy.map');
    if (typeof x !== 'number' || typeof y !== 'number') return;
    datasets.push({ type: 'scatter', label: name, data: [{ x, y }], backgroundColor: colorFor(i), pointRadius: 6 });
  });
  const front = ((report.comparison && report.comparison.pareto_front) || [])
    .map((name) => report.results[name])
    .filter((r) => r && typeof pick(r, 'accuracy.map') === 'number')
    .map((r) => ({ x: pick(r, 'speed.end_to_end_ms.p50'), y: pick(r, 'accuracy.map') }));
  if (front.length > 0) {
    // Rings mark the front's models, so a front of one model still shows.
    datasets.push({ type: 'line', label: 'Pareto front', data: front, borderColor: '#555', borderDash: [6, 4],
      pointRadius: 11, pointBorderWidth: 2, pointBackgroundColor: 'rgba(0, 0, 0, 0)', fill: false });
  }
  return draw(canvas, {
    type: 'scatter',
    data: { datasets },
    options: {
      scales: {
        x: { title: { display: true, text: 'median end-to-end latency (ms)' }, beginAtZero: true },
        y: { title: { display: true, text: 'mAP@[.50:.95]' }, beginAtZero: true },
      },
    },
  });
}

// Bar chart of one table column (COLUMNS key) per model.
export function drawColumnBars(canvas, report, columnKey) {
  const column = COLUMNS.find((c) => c.key === columnKey);
  const entries = modelEntries(report);
  return draw(canvas, {
    type: 'bar',
    data: {
      labels: entries.map(([name]) => name),
      datasets: [{ label: column.label, data: entries.map(([, r]) => columnValue(r, column)),
        backgroundColor: entries.map((_, i) => colorFor(i)) }],
    },
    options: { plugins: { legend: { display: false }, title: { display: true, text: column.label } },
      scales: { y: { beginAtZero: true } } },
  });
}

// Latency distribution per model: end-to-end time at min, p50, p90, p95,
// p99 and max (the report keeps these statistics, not every sample).
export function drawLatencyDistribution(canvas, report) {
  const stats = ['min', 'p50', 'p90', 'p95', 'p99', 'max'];
  const datasets = modelEntries(report)
    .map(([name, result], i) => ({
      label: name,
      data: stats.map((s) => pick(result, 'speed.end_to_end_ms.' + s) ?? null),
      borderColor: colorFor(i), backgroundColor: colorFor(i), tension: 0,
    }))
    .filter((d) => d.data.some((v) => v !== null));
  return draw(canvas, {
    type: 'line',
    data: { labels: stats, datasets },
    options: { scales: { x: { title: { display: true, text: 'percentile' } },
      y: { title: { display: true, text: 'end-to-end latency (ms)' }, beginAtZero: true } } },
  });
}

// Draws each bar's [low, high] interval (dataset.intervals) as a whisker.
const errorBarPlugin = {
  id: 'vbErrorBars',
  afterDatasetsDraw(chart) {
    const { ctx, scales } = chart;
    chart.data.datasets.forEach((dataset, d) => {
      if (!dataset.intervals) return;
      chart.getDatasetMeta(d).data.forEach((bar, i) => {
        const interval = dataset.intervals[i];
        if (!interval) return;
        const top = scales.y.getPixelForValue(interval[1]);
        const bottom = scales.y.getPixelForValue(interval[0]);
        const half = Math.min(10, bar.width / 4);
        ctx.save();
        ctx.strokeStyle = '#222';
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        ctx.moveTo(bar.x, top);
        ctx.lineTo(bar.x, bottom);
        ctx.moveTo(bar.x - half, top);
        ctx.lineTo(bar.x + half, top);
        ctx.moveTo(bar.x - half, bottom);
        ctx.lineTo(bar.x + half, bottom);
        ctx.stroke();
        ctx.restore();
      });
    });
  },
};

// mAP per model with its bootstrap 95% interval (accuracy.map_ci95) as
// error bars. Returns false when no model has an interval.
export function drawMapIntervals(canvas, report) {
  const entries = modelEntries(report);
  const intervals = entries.map(([, r]) => {
    const ci = pick(r, 'accuracy.map_ci95');
    return Array.isArray(ci) && ci.length === 2 ? ci : null;
  });
  draw(canvas, {
    type: 'bar',
    data: {
      labels: entries.map(([name]) => name),
      datasets: [{ label: 'mAP', data: entries.map(([, r]) => pick(r, 'accuracy.map') ?? null), intervals,
        backgroundColor: entries.map((_, i) => colorFor(i) + '99') }],
    },
    options: {
      plugins: { legend: { display: false }, title: { display: true, text: 'mAP with 95% bootstrap interval' } },
      scales: { y: { beginAtZero: true, suggestedMax: Math.max(0, ...intervals.filter(Boolean).map((c) => c[1])) } },
    },
    plugins: [errorBarPlugin],
  });
  return intervals.some(Boolean);
}

// Precision-recall curve at IoU 0.5 per model: the mean over classes of
// accuracy.per_class[].pr50 at each of the 101 recall thresholds, skipping
// undefined (null) entries. Returns false when no model has a curve.
export function drawPrCurves(canvas, report) {
  const entries = modelEntries(report);
  const datasets = [];
  entries.forEach(([name, r], i) => {
    const classes = pick(r, 'accuracy.per_class');
    if (!Array.isArray(classes) || classes.length === 0) return;
    const points = [];
    for (let t = 0; t <= 100; t++) {
      const values = classes.map((c) => (Array.isArray(c.pr50) ? c.pr50[t] : null)).filter((v) => typeof v === 'number');
      if (values.length) points.push({ x: t / 100, y: values.reduce((a, b) => a + b, 0) / values.length });
    }
    if (points.length) {
      datasets.push({ label: name, data: points, borderColor: colorFor(i), backgroundColor: colorFor(i),
        showLine: true, pointRadius: 0, tension: 0 });
    }
  });
  draw(canvas, {
    type: 'scatter',
    data: { datasets },
    options: {
      plugins: { title: { display: true, text: 'Precision-recall at IoU 0.5 (mean over classes)' } },
      scales: { x: { min: 0, max: 1, title: { display: true, text: 'recall' } },
        y: { min: 0, max: 1, title: { display: true, text: 'precision' } } },
    },
  });
  return datasets.length > 0;
}

// A metric over time, one line per model and dataset (named "MODEL on
// DATASET" when the runs span several datasets): runs are GET
// /runs?detail=1 entries, metric a key of their models (map, throughput, ...).
export function drawTrend(canvas, runs, metric, label) {
  const series = new Map();
  const fingerprints = new Set(runs.map((run) => run.dataset_sha256 || ''));
  for (const run of runs) {
    const t = Date.parse(run.started_at);
    const dataset = run.dataset_sha256 || '';
    for (const model of run.models || []) {
      if (typeof model[metric] !== 'number') continue;
      const key = model.name + '\n' + dataset;
      if (!series.has(key)) {
        const name = fingerprints.size > 1 ? model.name + ' on ' + (dataset.slice(0, 12) || 'unknown dataset') : model.name;
        series.set(key, { name, points: [] });
      }
      series.get(key).points.push({ x: t, y: model[metric] });
    }
  }
  const datasets = [...series.values()].map(({ name, points }, i) => ({
    label: name, data: points.sort((a, b) => a.x - b.x), borderColor: colorFor(i), backgroundColor: colorFor(i),
    showLine: true, tension: 0,
  }));
  // Chart.js pads a zero-width range by years; keep at least an hour.
  const times = datasets.flatMap((d) => d.data.map((p) => p.x));
  const first = Math.min(...times);
  const last = Math.max(...times);
  const pad = last - first < 3600e3 ? 1800e3 : 0;
  return draw(canvas, {
    type: 'scatter',
    data: { datasets },
    options: {
      scales: {
        x: { title: { display: true, text: 'run start (UTC)' }, min: times.length ? first - pad : undefined,
          max: times.length ? last + pad : undefined,
          ticks: { callback: (v) => new Date(v).toISOString().slice(0, 16).replace('T', ' ') } },
        y: { title: { display: true, text: label } },
      },
    },
  });
}
