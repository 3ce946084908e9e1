// The run report (docs/run-json.md) as the dashboard shows it: table columns, winners, CSV export.

// Returns obj at a dotted path ("speed.end_to_end_ms.p50"), or undefined.
export function pick(obj, path) {
  let value = obj;
  for (const part of path.split('.')) {
    if (value === null || value === undefined) return undefined;
    value = value[part];
  }
  return value;
}

// Formats a number with digits decimals; null, undefined and NaN show as a dash.
export function formatNumber(value, digits) {
  if (value === null || value === undefined || typeof value !== 'number' || !isFinite(value)) return '–';
  return value.toFixed(digits);
}

// Returns mAP per joule per image, the figure comparison.most_efficient
// ranks by, or null when the mAP or a positive energy is missing.
export function mapPerJoule(result) {
  const map = pick(result, 'accuracy.map');
  const joules = pick(result, 'carbon.energy_per_image_j');
  if (typeof map !== 'number' || typeof joules !== 'number' || !(joules > 0)) return null;
  return map / joules;
}

// The comparison table's columns: the report key under results.NAME, the
// header with its unit, decimals, a scale applied before display, and
// whether higher is better (for the winner highlight and charts). A column
// with compute is derived from the result and has no report key; a column
// with text shows the report's string.
export const COLUMNS = [
  { key: 'accuracy.map', label: 'mAP', digits: 4, higher: true },
  { key: 'accuracy.map50', label: 'mAP50', digits: 4, higher: true },
  { key: 'accuracy.precision', label: 'Precision', digits: 4, higher: true },
  { key: 'accuracy.recall', label: 'Recall', digits: 4, higher: true },
  { key: 'accuracy.f1', label: 'F1', digits: 4, higher: true },
  { key: 'speed.end_to_end_ms.p50', label: 'Latency p50 (ms)', digits: 2, higher: false },
  { key: 'speed.latency_p95', label: 'Latency p95 (ms)', digits: 2, higher: false },
  { key: 'speed.throughput', label: 'Throughput (img/s)', digits: 2, higher: true },
  { key: 'memory.peak_mb', label: 'Peak memory (MiB)', digits: 1, higher: false },
  { key: 'carbon.energy_per_image_j', label: 'Energy per image (J)', digits: 3, higher: false },
  { key: 'map_per_j', label: 'mAP per J per image', digits: 4, higher: true, compute: mapPerJoule },
  { key: 'carbon.co2_per_image_kg', label: 'CO2 per image (mg)', digits: 4, scale: 1e6, higher: false },
  { key: 'carbon.green_score', label: 'Green score (1-10)', digits: 0, higher: true },
  { key: 'carbon.energy_source', label: 'Energy source', text: true },
];

// The four winners of comparison, each with the column it is shown on.
export const WINNERS = [
  { key: 'best_accuracy', label: 'Best accuracy', column: 'accuracy.map' },
  { key: 'fastest', label: 'Fastest', column: 'speed.end_to_end_ms.p50' },
  { key: 'most_efficient', label: 'Most efficient', column: 'map_per_j' },
  { key: 'greenest', label: 'Greenest', column: 'carbon.co2_per_image_kg' },
];

// Returns the unscaled number of a column for one model's result (the
// report's value, or the derived one), or null.
export function columnRaw(result, column) {
  const raw = column.compute ? column.compute(result) : pick(result, column.key);
  return typeof raw === 'number' ? raw : null;
}

// Returns the value of a column for one model's result, scaled for display.
export function columnValue(result, column) {
  const raw = columnRaw(result, column);
  if (raw === null) return null;
  return column.scale ? raw * column.scale : raw;
}

// Returns [name, result] pairs of report.results in report order.
export function modelEntries(report) {
  return Object.entries((report && report.results) || {});
}

// Returns {model name: [winner labels]} from report.comparison.
export function winnersByModel(report) {
  const out = {};
  const comparison = (report && report.comparison) || {};
  for (const winner of WINNERS) {
    const name = comparison[winner.key];
    if (!name) continue;
    (out[name] = out[name] || []).push(winner);
  }
  return out;
}

// Quotes one CSV field as RFC 4180 does when it needs quoting.
function csvField(value) {
  const text = value === null || value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
}

// Returns the report as CSV, one row per model with its status, error and
// every table column. Numbers are in raw report units without display
// scaling, and text columns are as written.
export function reportToCsv(report) {
  const header = ['model', 'status', 'error'].concat(COLUMNS.map((c) => c.key));
  const lines = [header.map(csvField).join(',')];
  for (const [name, result] of modelEntries(report)) {
    const row = [name, result.status, result.error];
    for (const column of COLUMNS) {
      const value = column.text ? pick(result, column.key) : columnRaw(result, column);
      row.push(value === null || value === undefined ? '' : value);
    }
    lines.push(row.map(csvField).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

// Starts a browser download of text under filename.
export function download(filename, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
