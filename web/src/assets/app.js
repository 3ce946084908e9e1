// The dashboard shell: hash routes to the four pages and the API key field.

import { getApiKey, request, setApiKey } from './api.js';
import { el, notice } from './dom.js';
import { renderCompare } from './page-compare.js';
import { renderHistory } from './page-history.js';
import { renderNewRun } from './page-new.js';
import { renderRun } from './page-run.js';

const view = document.getElementById('view');
let cleanup = null;

// Routes: #/new, #/run/{job id}, #/compare, #/compare/{job|run}/{id}, #/history[?filters].
function route() {
  if (cleanup) cleanup();
  cleanup = null;
  const hash = location.hash.replace(/^#/, '') || '/new';
  const [path, query] = hash.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const page = parts[0] || 'new';
  for (const link of document.querySelectorAll('nav a')) {
    if (link.dataset.page === page) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (page === 'new') cleanup = renderNewRun(view);
  else if (page === 'run' && parts[1]) cleanup = renderRun(view, parts[1]);
  else if (page === 'compare') cleanup = renderCompare(view, parts[1], parts[2]);
  else if (page === 'history') cleanup = renderHistory(view, new URLSearchParams(query || ''));
  else view.replaceChildren(el('h1', { text: 'Page not found' }), notice('error', 'Unknown address.', 'Use the menu above.'));
  view.focus({ preventScroll: true });
}

// The key form: stored in sessionStorage, sent as "Authorization: Bearer".
function setupKey() {
  const input = document.getElementById('api-key');
  const state = document.getElementById('api-key-state');
  input.value = getApiKey();
  document.getElementById('api-key-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    setApiKey(input.value.trim());
    await checkServer();
    route();
  });
  async function checkServer() {
    try {
      await request('GET', '/health');
      state.textContent = getApiKey() ? 'key accepted' : 'connected';
      state.className = 'key-ok';
    } catch (e) {
      state.textContent = e.status === 401 ? 'key required or wrong' : 'server unreachable';
      state.className = 'key-bad';
    }
  }
  checkServer();
}

setupKey();
window.addEventListener('hashchange', route);
route();
