// The Run page: live progress of one job from /stream, then its results or a clear end state.

import { ApiError, readStream, request } from './api.js';
import { el, notice } from './dom.js';
import { resultsTable } from './table.js';

const FINAL = ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];
const PHASE_LABELS = {
  decode: 'decoding images', inputs: 'decoding images', validate: 'checking models', validated: 'checking models',
  load: 'loading', warmup: 'warming up', run: 'timed pass', eval: 'evaluating', done: 'finished',
};
const RECONNECT_MS = [1000, 2000, 3000, 5000];

function progressBar(id, label) {
  return el('progress', { id, max: '100', value: '0', 'aria-label': label });
}

export function renderRun(view, jobId) {
  const controller = new AbortController();
  let stopped = false;

  const statusBadge = el('span', { id: 'job-status', class: 'badge', text: 'loading' });
  const connection = el('div', { id: 'connection', 'aria-live': 'polite' });
  const decodeBar = progressBar('decode-progress', 'Image decoding progress');
  const decodeText = el('span', { class: 'muted', text: 'waiting' });
  const overallBar = progressBar('overall-progress', 'Overall progress');
  const overallText = el('span', { id: 'overall-percent', text: '0%' });
  const modelRows = el('tbody', {});
  const overallLine = el('p', {}, el('label', { for: 'overall-progress', text: 'Overall ' }), overallBar, ' ', overallText);
  const decodeLine = el('p', {}, el('label', { for: 'decode-progress', text: 'Images ' }), decodeBar, ' ', decodeText);
  const progressTable = el('div', { class: 'table-scroll' }, el('table', { class: 'progress-table', id: 'model-progress' },
    el('thead', {}, el('tr', {}, ['Model', 'Phase', 'Progress', ''].map((h) => el('th', { scope: 'col', text: h })))),
    modelRows));
  const progressEnd = el('p', { id: 'progress-final', hidden: true });
  const outcome = el('div', { id: 'outcome', 'aria-live': 'polite' });
  const cancelButton = el('button', { type: 'button', id: 'cancel-job', text: 'Cancel job', onclick: cancelJob });
  const retryButton = el('button', { type: 'button', id: 'retry-job', text: 'Retry job', hidden: true, onclick: retryJob });

  // Progress per model index: {name, phase, percent, row}.
  const models = new Map();
  let modelCount = 0;

  function modelRow(index, name) {
    let entry = models.get(index);
    if (!entry) {
      const bar = progressBar('model-progress-' + index, 'Progress of model ' + (index + 1));
      const row = el('tr', { 'data-model-index': String(index) }, el('th', { scope: 'row', class: 'model-name' }),
        el('td', { class: 'phase' }), el('td', {}, bar), el('td', { class: 'num percent' }));
      entry = { name: null, phase: 'waiting', percent: 0, row, bar };
      models.set(index, entry);
      const rows = [...models.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1].row);
      modelRows.replaceChildren(...rows);
    }
    if (name) entry.name = name;
    return entry;
  }

  function updateModel(entry, phase, percent, detail) {
    entry.phase = phase;
    entry.percent = Math.max(0, Math.min(100, percent));
    entry.row.children[0].textContent = entry.name || 'model';
    entry.row.children[1].textContent = (PHASE_LABELS[phase] || phase) + (detail ? ' ' + detail : '');
    entry.bar.value = entry.percent;
    entry.row.children[3].textContent = Math.round(entry.percent) + '%';
  }

  function updateOverall() {
    let sum = 0;
    for (const entry of models.values()) sum += entry.percent;
    const count = Math.max(modelCount, models.size, 1);
    const percent = Math.floor(sum / count);
    overallBar.value = percent;
    overallBar.setAttribute('aria-valuenow', String(percent));
    overallText.textContent = percent + '%';
  }

  // Applies one progress event: {phase, model_index, model_count, model, done, total, elapsed_s}.
  function onProgress(p) {
    modelCount = Math.max(modelCount, p.model_count || 0);
    for (let i = 0; i < modelCount; i++) modelRow(i);
    const fraction = p.total > 0 ? p.done / p.total : 0;
    if (p.phase === 'decode' || p.phase === 'inputs') {
      decodeBar.value = Math.round(fraction * 100);
      decodeText.textContent = p.done + ' of ' + p.total + ' images';
    } else if (p.model_index >= 0) {
      const entry = modelRow(p.model_index, p.model);
      // A later model started: the earlier ones finished their timed pass.
      for (const [index, other] of models) {
        if (index < p.model_index && other.percent < 100 && p.phase !== 'validate' && p.phase !== 'validated') {
          updateModel(other, 'done', 100);
        }
      }
      if (p.phase === 'run') updateModel(entry, 'run', 10 + 90 * fraction, p.done + '/' + p.total);
      else if (p.phase === 'warmup') updateModel(entry, 'warmup', 5);
      else if (p.phase === 'load') updateModel(entry, 'load', 2);
      else if (p.phase === 'validate' || p.phase === 'validated') updateModel(entry, p.phase, 0);
    }
    if (p.phase === 'eval' || p.phase === 'done') {
      decodeBar.value = 100;
      for (const entry of models.values()) updateModel(entry, p.phase, 100);
    }
    setStatus('IN_PROGRESS');
    updateOverall();
  }

  function setStatus(status) {
    statusBadge.textContent = status;
    statusBadge.className = 'badge status-' + status.toLowerCase();
    const final = FINAL.includes(status);
    cancelButton.hidden = final;
    if (status === 'IN_QUEUE') decodeText.textContent = 'waiting in the queue for a worker';
    retryButton.hidden = !(status === 'FAILED' || status === 'TIMED_OUT');
  }

  // Replaces the progress bars of a job that ended without results (or does
  // not exist) by its final state, so no bar stays at "0% / waiting". Model
  // rows that progress events created stay, with their last phase.
  function showStoppedProgress(text) {
    overallLine.hidden = true;
    decodeLine.hidden = true;
    progressTable.hidden = models.size === 0;
    for (const entry of models.values()) {
      if (entry.percent >= 100) continue;
      entry.row.children[1].textContent = entry.percent > 0
        ? 'stopped while ' + (PHASE_LABELS[entry.phase] || entry.phase) + ' (' + Math.round(entry.percent) + '%)'
        : 'not started';
      entry.bar.hidden = true;
      entry.row.children[3].textContent = '';
    }
    progressEnd.textContent = text;
    progressEnd.hidden = false;
  }

  // Shows a final job document from /status or the stream's result event.
  function showFinal(doc) {
    stopped = true;
    connection.replaceChildren();
    setStatus(doc.status);
    if (doc.status === 'COMPLETED' && doc.output) {
      const report = doc.output;
      // A page opened after the job ended saw no progress events: one row per model.
      Object.keys(report.results || {}).forEach((name, index) => modelRow(index, name));
      for (const entry of models.values()) updateModel(entry, 'done', 100);
      decodeBar.value = 100;
      overallBar.value = 100;
      overallBar.setAttribute('aria-valuenow', '100');
      overallText.textContent = '100%';
      const failed = Object.entries(report.results || {}).filter(([, r]) => r.status !== 'ok');
      const summary = report.status === 'ok'
        ? notice('ok', 'Run complete.', 'Every model finished.')
        : report.status === 'partial'
          ? notice('warning', 'Run complete with failures.', failed.map(([n, r]) => n + ': ' + r.status + (r.error ? ' (' + r.error + ')' : '')).join('; '))
          : notice('error', 'Every model failed.', failed.map(([n, r]) => n + ': ' + (r.error || r.status)).join('; '));
      // Models that failed keep their row, marked failed, never an empty bar.
      for (const entry of models.values()) {
        const result = entry.name && report.results ? report.results[entry.name] : null;
        if (result && result.status !== 'ok') {
          entry.row.classList.add('row-failed');
          entry.row.children[1].textContent = 'failed: ' + result.status;
        }
      }
      outcome.replaceChildren(summary, resultsTable(report),
        el('p', {}, el('a', { href: '#/compare/job/' + encodeURIComponent(jobId), id: 'open-compare', class: 'button', text: 'Open in Compare' })));
    } else if (doc.status === 'CANCELLED') {
      showStoppedProgress('Cancelled: the job stopped before it finished.');
      outcome.replaceChildren(notice('warning', 'Job cancelled.', 'It was cancelled before it finished; no results were stored. Start a new run to benchmark again.'));
    } else if (doc.status === 'TIMED_OUT') {
      showStoppedProgress('Timed out: the job ran past the server\'s --job-timeout and was stopped.');
      outcome.replaceChildren(notice('error', 'Job timed out.', (doc.error || 'It ran past the server\'s --job-timeout.') + ' Retry it, or use fewer images or models.'));
    } else {
      showStoppedProgress('Failed: the job ended without results.');
      outcome.replaceChildren(notice('error', 'Job failed.', (doc.error || 'The server gave no reason.') + ' Retry it once the cause is fixed.'));
    }
  }

  async function cancelJob() {
    try {
      await request('POST', '/cancel/' + encodeURIComponent(jobId));
    } catch (e) {
      outcome.replaceChildren(notice('error', 'Cancel failed.', e.message));
    }
  }

  async function retryJob() {
    try {
      await request('POST', '/retry/' + encodeURIComponent(jobId));
      stopped = false;
      outcome.replaceChildren();
      models.clear();
      modelRows.replaceChildren();
      overallLine.hidden = false;
      decodeLine.hidden = false;
      progressTable.hidden = false;
      progressEnd.hidden = true;
      overallBar.value = 0;
      overallText.textContent = '0%';
      decodeBar.value = 0;
      decodeText.textContent = 'waiting';
      follow();
    } catch (e) {
      outcome.replaceChildren(notice('error', 'Retry failed.', e.message));
    }
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // Follows the job until it is final: the stream while it works, and on a
  // broken connection (a server restart, a network drop) a reconnect loop
  // that polls /status and then reopens the stream.
  async function follow() {
    let attempt = 0;
    while (!stopped && !controller.signal.aborted) {
      let doc;
      try {
        doc = await request('GET', '/status/' + encodeURIComponent(jobId), undefined, controller.signal);
      } catch (e) {
        if (e.name === 'AbortError') return;
        if (e instanceof ApiError && e.status === 404) {
          stopped = true;
          setStatus('NOT FOUND');
          cancelButton.hidden = true;
          showStoppedProgress('Unknown job: the server has no job with this id.');
          outcome.replaceChildren(notice('error', 'Job not found.', 'The server has no job ' + jobId + '. Open History to find stored runs.'));
          return;
        }
        if (e instanceof ApiError && e.status === 401) {
          stopped = true;
          outcome.replaceChildren(notice('error', 'API key required.', e.message + ' Enter the key at the top of the page, then reload.'));
          return;
        }
        connection.replaceChildren(notice('warning', 'Connection to the server lost.',
          'Reconnecting (attempt ' + (attempt + 1) + '), the job keeps running on the server (' + e.message + ').'));
        await sleep(RECONNECT_MS[Math.min(attempt, RECONNECT_MS.length - 1)]);
        attempt++;
        continue;
      }
      if (attempt > 0) connection.replaceChildren(notice('ok', 'Reconnected.', 'Following the job again.'));
      attempt = 0;
      if (FINAL.includes(doc.status)) {
        showFinal(doc);
        return;
      }
      setStatus(doc.status);

      // Stream until the result event. A stream that ends without one is a
      // dropped connection.
      let result = null;
      try {
        await readStream(jobId, (name, data) => {
          if (name === 'progress') onProgress(data);
          else if (name === 'result') result = data;
        }, controller.signal);
      } catch (e) {
        if (e.name === 'AbortError') return;
        connection.replaceChildren(notice('warning', 'Connection to the server lost.',
          'Reconnecting, the job keeps running on the server (' + e.message + ').'));
      }
      if (result && FINAL.includes(result.status)) {
        showFinal(result);
        return;
      }
      await sleep(RECONNECT_MS[0]);
      attempt = Math.max(attempt, 1);
    }
  }

  view.replaceChildren(
    el('h1', {}, 'Run ', el('code', { text: jobId }), ' ', statusBadge),
    connection,
    el('section', { 'aria-labelledby': 'progress-heading' },
      el('h2', { id: 'progress-heading', text: 'Progress' }),
      progressEnd, overallLine, decodeLine, progressTable,
      el('p', {}, cancelButton, ' ', retryButton)),
    el('section', { 'aria-labelledby': 'outcome-heading' }, el('h2', { id: 'outcome-heading', text: 'Results' }), outcome));
  follow();
  return () => controller.abort();
}
