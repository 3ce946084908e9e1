// The History page: stored runs filtered by model and dataset, a metric's trend, links to Compare and exports.

import { request } from './api.js';
import { drawTrend } from './charts.js';
import { el, notice } from './dom.js';
import { download, formatNumber, reportToCsv } from './report.js';

// Metrics that GET /runs?detail=1 returns per model, for the trend chart.
const TREND_METRICS = [
  { key: 'map', label: 'mAP@[.50:.95]' },
  { key: 'map50', label: 'mAP50' },
  { key: 'f1', label: 'F1' },
  { key: 'throughput', label: 'throughput (img/s)' },
  { key: 'latency_p95_ms', label: 'latency p95 (ms)' },
  { key: 'peak_mb', label: 'peak memory (MiB)' },
  { key: 'energy_kwh', label: 'energy (kWh)' },
  { key: 'co2_kg', label: 'CO2 (kg)' },
];
const LIST_LIMIT = 200;

function select(id, label, options, value) {
  const node = el('select', { id, name: id }, options.map(([v, text]) => el('option', { value: v, text })));
  node.value = value;
  return [el('label', { for: id, text: label }), node];
}

async function exportRun(id, format) {
  const run = await request('GET', '/runs/' + encodeURIComponent(id));
  if (format === 'json') download('visionbench-run-' + id + '.json', JSON.stringify(run.report, null, 2) + '\n', 'application/json');
  else download('visionbench-run-' + id + '.csv', reportToCsv(run.report), 'text/csv');
}

export function renderHistory(view, params) {
  const filters = { model: params.get('model') || '', dataset: params.get('dataset') || '', metric: params.get('metric') || 'map' };
  const message = el('div', { id: 'history-message', 'aria-live': 'polite' });
  const body = el('tbody', {});
  const canvas = el('canvas', { id: 'chart-trend', role: 'img', 'aria-label': 'The chosen metric over time, one line per model and dataset' });
  const form = el('form', { class: 'filters', id: 'history-filters' });
  let runs = [];

  // Fills the filter form: models from the registry and the runs, datasets from the runs.
  function buildFilters(modelNames, datasets) {
    const [modelLabel, modelSelect] = select('filter-model', 'Model', [['', 'every model'], ...modelNames.map((n) => [n, n])], filters.model);
    const [datasetLabel, datasetSelect] = select('filter-dataset', 'Dataset', [['', 'every dataset'], ...datasets.map((d) => [d, d.slice(0, 12)])], filters.dataset);
    const [metricLabel, metricSelect] = select('filter-metric', 'Trend metric', TREND_METRICS.map((m) => [m.key, m.label]), filters.metric);
    const apply = () => {
      const query = new URLSearchParams();
      if (modelSelect.value) query.set('model', modelSelect.value);
      if (datasetSelect.value) query.set('dataset', datasetSelect.value);
      if (metricSelect.value !== 'map') query.set('metric', metricSelect.value);
      location.hash = '#/history' + (query.toString() ? '?' + query : '');
    };
    for (const node of [modelSelect, datasetSelect, metricSelect]) node.addEventListener('change', apply);
    form.replaceChildren(el('div', {}, modelLabel, modelSelect), el('div', {}, datasetLabel, datasetSelect),
      el('div', {}, metricLabel, metricSelect));
  }

  function showRuns() {
    body.replaceChildren(...runs.map((run) => el('tr', { 'data-run-id': run.id },
      el('td', {}, el('time', { datetime: run.started_at, text: run.started_at.replace('T', ' ').replace('Z', ' UTC') })),
      el('td', { class: 'status-' + run.status, text: run.status }),
      el('td', {}, (run.models || []).map((m) => el('span', { class: 'chip' + (m.status === 'ok' ? '' : ' chip-failed'),
        title: m.status, text: m.name + ' ' + formatNumber(m.map, 3) }))),
      el('td', { class: 'num', text: formatNumber(run.best_map, 4) }),
      el('td', {}, el('code', { title: run.dataset_sha256 || '', text: (run.dataset_sha256 || '–').slice(0, 12) })),
      el('td', { class: 'actions' },
        el('a', { href: '#/compare/run/' + run.id, class: 'button open-compare', text: 'Compare' }),
        el('button', { type: 'button', class: 'export-json', text: 'JSON', 'aria-label': 'Export run ' + run.started_at + ' as JSON',
          onclick: () => exportRun(run.id, 'json').catch((e) => message.replaceChildren(notice('error', 'Export failed.', e.message))) }),
        el('button', { type: 'button', class: 'export-csv', text: 'CSV', 'aria-label': 'Export run ' + run.started_at + ' as CSV',
          onclick: () => exportRun(run.id, 'csv').catch((e) => message.replaceChildren(notice('error', 'Export failed.', e.message))) })))));
    const metric = TREND_METRICS.find((m) => m.key === filters.metric) || TREND_METRICS[0];
    drawTrend(canvas, runs, metric.key, metric.label);
  }

  async function load() {
    try {
      const query = new URLSearchParams({ detail: '1', limit: String(LIST_LIMIT) });
      if (filters.model) query.set('model', filters.model);
      if (filters.dataset) query.set('dataset', filters.dataset);
      const [listed, all, registry] = await Promise.all([
        request('GET', '/runs?' + query),
        request('GET', '/runs?limit=' + LIST_LIMIT),
        request('GET', '/models').catch(() => ({ models: [] })),
      ]);
      runs = listed.runs || [];
      const names = new Set((registry.models || []).map((m) => (typeof m === 'string' ? m : m.name)));
      const datasets = new Set();
      for (const run of all.runs || []) {
        for (const m of run.models || []) names.add(m.name);
        if (run.dataset_sha256) datasets.add(run.dataset_sha256);
      }
      buildFilters([...names].sort(), [...datasets]);
      message.replaceChildren(runs.length === 0
        ? notice('info', 'No runs match.', filters.model || filters.dataset ? 'Clear a filter to see more.' : 'Start one on the New run page.')
        : el('p', { class: 'muted', text: runs.length + ' run' + (runs.length === 1 ? '' : 's') + ', newest first' }));
      showRuns();
    } catch (e) {
      message.replaceChildren(notice('error', 'Cannot load the history.', e.message));
    }
  }

  view.replaceChildren(
    el('h1', { text: 'History' }),
    form,
    message,
    el('figure', { class: 'chart chart-wide' }, el('div', { class: 'chart-area' }, canvas),
      el('figcaption', { id: 'trend-caption', text: 'Trend per model and dataset: each line joins the runs of one model on one dataset, '
        + 'because a metric measured on other images is not comparable. Pick a dataset above to show only its runs.' })),
    el('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': 'Stored runs' },
      el('table', { class: 'history', id: 'history-table' },
        el('thead', {}, el('tr', {}, ['Started', 'Status', 'Models (mAP)', 'Best mAP', 'Dataset', 'Actions'].map((h) => el('th', { scope: 'col', text: h })))),
        body)));
  load();
  return null;
}
