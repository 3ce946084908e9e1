// The Compare page: one run's models side by side, the four winners and the charts.

import { request } from './api.js';
import { drawAccuracyLatency, drawColumnBars, drawLatencyDistribution, drawMapIntervals, drawPrCurves } from './charts.js';
import { el, notice } from './dom.js';
import { WINNERS, download, formatNumber, modelEntries, pick, reportToCsv } from './report.js';
import { resultsTable } from './table.js';

// Loads the run report: kind "job" reads GET /status/{id}.output, kind
// "run" reads GET /runs/{id}.report. Throws Error when there is none.
export async function loadReport(kind, id) {
  if (kind === 'job') {
    const doc = await request('GET', '/status/' + encodeURIComponent(id));
    if (!doc.output) throw new Error('job ' + id + ' is ' + doc.status + ' and has no results yet');
    return doc.output;
  }
  const run = await request('GET', '/runs/' + encodeURIComponent(id));
  return run.report;
}

// Offers JSON and CSV downloads of a report.
export function exportButtons(report, baseName) {
  return el('div', { class: 'exports' },
    el('button', { type: 'button', class: 'export-json', text: 'Export JSON',
      onclick: () => download(baseName + '.json', JSON.stringify(report, null, 2) + '\n', 'application/json') }),
    el('button', { type: 'button', class: 'export-csv', text: 'Export CSV',
      onclick: () => download(baseName + '.csv', reportToCsv(report), 'text/csv') }));
}

// Returns the note on where the energy figures come from: each model's
// energy_source and the grid intensity and PUE that turn energy into CO2.
// A model measured by an estimate is named in a warning, because its
// energy, CO2 and green score then come from CPU time and a watts table.
export function energyNote(report) {
  const settings = (report.metadata && report.metadata.carbon_settings) || {};
  const sources = modelEntries(report).map(([name, result]) => [name, pick(result, 'carbon.energy_source') || 'unknown']);
  const estimated = sources.filter(([, source]) => source === 'estimate').map(([name]) => name);
  const perModel = sources.map(([name, source]) => name + ': ' + (source === 'estimate' ? 'estimate' : source)).join(', ');
  const grid = 'CO2 is energy × grid intensity ' + formatNumber(settings.grid_g_per_kwh, 0) + ' g CO2e/kWh' +
    (settings.grid_source ? ' (' + settings.grid_source + ')' : '') + ' × PUE ' + formatNumber(settings.pue, 2) + '.';
  const box = estimated.length
    ? notice('warning', 'Energy, CO2 and green score are estimates for ' + estimated.join(', ') + '.',
      'No energy counter was read for ' + (estimated.length === 1 ? 'it' : 'them') + ', so energy is CPU time × watts per core plus DRAM ' +
      'from a table (docs/energy.md). Energy source per model: ' + perModel + '. ' + grid)
    : notice('info', 'Energy measured by hardware counters.', 'Energy source per model: ' + perModel + '. ' + grid);
  box.id = 'energy-note';
  return box;
}

function chartBox(id, title, description) {
  const canvas = el('canvas', { id, role: 'img', 'aria-label': title + ': ' + description });
  return { canvas, box: el('figure', { class: 'chart' }, el('div', { class: 'chart-area' }, canvas), el('figcaption', { text: title })) };
}

// Lists recent runs to pick one when the URL names none.
async function renderPicker(view) {
  view.replaceChildren(el('h1', { text: 'Compare' }), el('p', { class: 'muted', text: 'Loading recent runs…' }));
  try {
    const data = await request('GET', '/runs?limit=20');
    const items = (data.runs || []).map((run) => el('li', {},
      el('a', { href: '#/compare/run/' + run.id, text: run.started_at + ' — ' + (run.models || []).map((m) => m.name).join(', ') })));
    view.replaceChildren(el('h1', { text: 'Compare' }),
      items.length ? el('div', {}, el('p', { text: 'Pick a run to compare its models:' }), el('ul', { class: 'run-picker' }, items))
        : notice('info', 'No stored runs yet.', 'Start one on the New run page.'));
  } catch (e) {
    view.replaceChildren(el('h1', { text: 'Compare' }), notice('error', 'Cannot list runs.', e.message));
  }
}

export function renderCompare(view, kind, id) {
  if (!kind || !id) {
    renderPicker(view);
    return null;
  }
  view.replaceChildren(el('h1', { text: 'Compare' }), el('p', { class: 'muted', text: 'Loading the run…' }));
  loadReport(kind, id).then((report) => showReport(view, report, kind, id)).catch((e) => {
    view.replaceChildren(el('h1', { text: 'Compare' }), notice('error', 'Cannot load the run.', e.message));
  });
  return null;
}

function showReport(view, report, kind, id) {
  const meta = report.metadata || {};
  const dataset = meta.dataset || {};
  const comparison = report.comparison || {};
  const cards = WINNERS.map((w) => el('div', { class: 'winner-card badge-' + w.key, 'data-winner': w.key },
    el('div', { class: 'muted', text: w.label }), el('strong', { text: comparison[w.key] || 'none' })));

  // Charts of every model; a chart needs a sized box, so build them first.
  const scatter = chartBox('chart-accuracy-latency', 'Accuracy vs latency', 'mAP against median latency with the Pareto front');
  const throughput = chartBox('chart-throughput', 'Throughput', 'images per second per model');
  const memory = chartBox('chart-memory', 'Peak memory', 'MiB per model');
  const energy = chartBox('chart-energy', 'Energy per image', 'joules per image per model');
  const co2 = chartBox('chart-co2', 'CO2 per image', 'milligrams per image per model');
  const latency = chartBox('chart-latency', 'Latency distribution', 'end-to-end latency percentiles per model');
  const intervals = chartBox('chart-map-ci', 'mAP with 95% interval', 'mAP per model with bootstrap error bars');
  const pr = chartBox('chart-pr', 'Precision-recall', 'precision against recall at IoU 0.5 per model');
  const ciNote = el('p', { class: 'muted', id: 'ci-note' });

  const when = report.timestamp || '';
  view.replaceChildren(
    el('h1', { text: 'Compare' }),
    el('p', { class: 'run-meta' },
      'Run of ', el('strong', { text: when }), ' — ', modelEntries(report).length + ' models, ',
      String(dataset.images ?? '?') + ' images, status ', el('strong', { text: report.status || '?' }),
      dataset.sha256 ? el('span', { class: 'muted' }, ' — dataset ', el('code', { text: dataset.sha256.slice(0, 12) })) : null),
    el('div', { class: 'winners' }, cards),
    resultsTable(report),
    energyNote(report),
    exportButtons(report, 'visionbench-' + kind + '-' + id),
    el('h2', { text: 'Charts' }),
    el('div', { class: 'charts' }, scatter.box, throughput.box, memory.box, energy.box, co2.box, latency.box, intervals.box, pr.box),
    ciNote);

  drawAccuracyLatency(scatter.canvas, report);
  drawColumnBars(throughput.canvas, report, 'speed.throughput');
  drawColumnBars(memory.canvas, report, 'memory.peak_mb');
  drawColumnBars(energy.canvas, report, 'carbon.energy_per_image_j');
  drawColumnBars(co2.canvas, report, 'carbon.co2_per_image_kg');
  drawLatencyDistribution(latency.canvas, report);
  const notes = [];
  if (!drawPrCurves(pr.canvas, report)) {
    notes.push('No model has a precision-recall curve: no detector finished.');
  }
  if (!drawMapIntervals(intervals.canvas, report)) {
    notes.push('No model has a mAP interval: the run used --bootstrap 0 or no model finished.');
  }
  ciNote.textContent = notes.join(' ');
}
