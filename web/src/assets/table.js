// The comparison table of a run report, shared by the Run and Compare pages.

import { el } from './dom.js';
import { COLUMNS, WINNERS, columnRaw, columnValue, formatNumber, modelEntries, pick, winnersByModel } from './report.js';

// Returns a table with one row per model and one column per COLUMNS entry.
// Each value cell of a report key carries data-key (the key) and data-value
// (the unscaled report value, empty for null) so tests can compare it with
// the API's JSON; a derived cell carries data-metric in place of data-key.
// The four winners get a badge and a highlighted cell. A model that did not
// finish shows its status and error, and dashes in place of the
// placeholder numbers its report entry carries. An energy source of
// "estimate" is marked, because energy, CO2 and the green score then come
// from a model of the machine, not from counters.
export function resultsTable(report) {
  const winners = winnersByModel(report);
  const head = el('tr', {}, el('th', { scope: 'col', text: 'Model' }), el('th', { scope: 'col', text: 'Status' }),
    COLUMNS.map((c) => el('th', { scope: 'col', text: c.label })));
  const rows = modelEntries(report).map(([name, result]) => {
    const won = winners[name] || [];
    const modelCell = el('th', { scope: 'row' }, el('span', { class: 'model-name', text: name }),
      won.map((w) => el('span', { class: 'badge badge-' + w.key, text: w.label })));
    const ok = result.status === 'ok';
    const statusCell = el('td', { class: ok ? 'status-ok' : 'status-failed', 'data-key': 'status', 'data-value': result.status },
      ok ? 'ok' : [el('strong', { text: result.status }), result.error ? el('div', { class: 'error-text', text: result.error }) : null]);
    const cells = COLUMNS.map((column) => {
      if (column.text) {
        const text = pick(result, column.key);
        const shown = typeof text === 'string' ? text : '';
        return el('td', { class: 'text' + (shown === 'estimate' ? ' estimate' : ''), 'data-key': column.key, 'data-value': shown },
          shown || '–');
      }
      const raw = columnRaw(result, column);
      const highlight = won.some((w) => w.column === column.key);
      const attributes = { class: 'num' + (highlight ? ' winner' : ''), 'data-value': raw === null ? '' : String(raw) };
      attributes[column.compute ? 'data-metric' : 'data-key'] = column.key;
      return el('td', attributes, ok ? formatNumber(columnValue(result, column), column.digits) : '–');
    });
    return el('tr', { 'data-model': name, class: ok ? '' : 'row-failed' }, modelCell, statusCell, cells);
  });
  return el('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': 'Comparison table' },
    el('table', { class: 'results', id: 'results-table' },
      el('caption', { text: 'Per-model results; highlighted cells mark the winners (' + WINNERS.map((w) => w.label.toLowerCase()).join(', ') +
        '). Most efficient is the highest mAP per joule per image.' }),
      el('thead', {}, head), el('tbody', {}, rows)));
}
