// The comparison table of a run report, shared by the Run and Compare pages.

import { el } from './dom.js';
import { COLUMNS, WINNERS, columnValue, formatNumber, modelEntries, pick, winnersByModel } from './report.js';

// Returns a table with one row per model and one column per COLUMNS entry.
// Each value cell carries data-key (the report key) and data-value (the
// unscaled report number, empty for null) so tests can compare it with the
// API's JSON. The four winners get a badge and a highlighted cell. A model
// that did not finish shows its status and error, and dashes in place of
// the placeholder numbers its report entry carries.
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
      const value = columnValue(result, column);
      const reported = pick(result, column.key);
      const raw = typeof reported === 'number' ? String(reported) : '';
      const highlight = won.some((w) => w.column === column.key);
      return el('td', { class: 'num' + (highlight ? ' winner' : ''), 'data-key': column.key, 'data-value': raw },
        ok ? formatNumber(value, column.digits) : '–');
    });
    return el('tr', { 'data-model': name, class: ok ? '' : 'row-failed' }, modelCell, statusCell, cells);
  });
  return el('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': 'Comparison table' },
    el('table', { class: 'results', id: 'results-table' },
      el('caption', { text: 'Per-model results; highlighted cells mark the winners (' + WINNERS.map((w) => w.label.toLowerCase()).join(', ') + ')' }),
      el('thead', {}, head), el('tbody', {}, rows)));
}
