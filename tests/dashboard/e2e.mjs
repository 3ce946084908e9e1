// Browser test of the dashboard: drives Debian's chromium with playwright-core against a real
// `visionbench serve` on loopback. Usage: node e2e.mjs CASE, CASE one of main, failed_model,
// cancelled, restart, api_key. Screenshots go to $VB_BINARY_DIR/dashboard-screenshots/.
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const env = process.env;
const require = createRequire(path.join(env.VB_SOURCE_DIR, 'web', 'package.json'));
const { chromium } = require('playwright-core');

const SHARED = env.VB_SHARED_DIR;
const DATASET = path.join(SHARED, 'datasets', 'kaggle-car-video');
const SHOTS = path.join(env.VB_BINARY_DIR, 'dashboard-screenshots');
const FINAL = ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const testCase = process.argv[2] || 'main';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'vb-dashboard-' + testCase + '-'));
fs.mkdirSync(SHOTS, { recursive: true });

// ---- Test data: models, a 6-image subset and its filtered CSV. ----

const modelsDir = path.join(work, 'models');
fs.mkdirSync(modelsDir);
for (const name of ['yolox_nano', 'yolov8n']) {
  fs.symlinkSync(path.join(SHARED, 'models', name + '.onnx'), path.join(modelsDir, name + '.onnx'));
}
// A file named like a model that no engine can load, for the failed-model state.
fs.writeFileSync(path.join(modelsDir, 'broken.onnx'), 'this is not an ONNX model\n');

const csvLines = fs.readFileSync(path.join(DATASET, 'gt.csv'), 'utf8').trim().split('\n');
const imageNames = [...new Set(csvLines.slice(1).map((line) => line.split(',')[0]))].sort().slice(0, 6);
const imagesDir = path.join(work, 'images');
fs.mkdirSync(imagesDir);
for (const name of imageNames) fs.copyFileSync(path.join(DATASET, 'images', name), path.join(imagesDir, name));
const gtPath = path.join(work, 'gt.csv');
fs.writeFileSync(gtPath, [csvLines[0], ...csvLines.slice(1).filter((l) => imageNames.includes(l.split(',')[0]))].join('\n') + '\n');

// ---- The server. ----

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

const port = await freePort();
const base = 'http://127.0.0.1:' + port;
let server = null;
// Extra `serve` options for the case (the api_key case adds --api-key-file).
const serverOptions = [];
const API_KEY = 'dashboard-e2e-key';

async function api(method, route, body, key) {
  const headers = body ? { 'Content-Type': 'application/json' } : {};
  if (key) headers.Authorization = 'Bearer ' + key;
  const response = await fetch(base + route, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const data = await response.json();
  assert.ok(response.ok, method + ' ' + route + ' returned ' + response.status + ': ' + JSON.stringify(data));
  return data;
}

async function startServer() {
  const log = fs.openSync(path.join(work, 'server.log'), 'a');
  server = spawn(env.VB_CLI, ['serve', '--listen', '127.0.0.1:' + port, '--db', 'sqlite:' + path.join(work, 'jobs.db'),
    '--models-dir', modelsDir, '--workers-max', '2', '--job-timeout', '240', ...serverOptions],
  { stdio: ['ignore', log, log] });
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline) {
    try {
      const health = await fetch(base + '/health', { headers: { Authorization: 'Bearer ' + API_KEY } });
      if (health.ok) return;
    } catch (e) {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the server did not answer /health within 20 s; see ' + path.join(work, 'server.log'));
}

function stopServer(signal) {
  if (server && server.exitCode === null) server.kill(signal);
  const stopped = server ? new Promise((r) => server.once('exit', r)) : Promise.resolve();
  server = null;
  return stopped;
}

// Kills the workers a SIGKILLed server left behind: processes whose command
// line names this test's models folder.
function killOrphanWorkers() {
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = fs.readFileSync('/proc/' + pid + '/cmdline', 'utf8');
      if (cmdline.includes(modelsDir) && Number(pid) !== process.pid) process.kill(Number(pid), 'SIGKILL');
    } catch (e) {
      // The process ended meanwhile.
    }
  }
}

function b64(file) {
  return fs.readFileSync(file).toString('base64');
}

// Queues a job through the API: the first count images, the filtered CSV.
async function submitJob(models, count, options) {
  const images = imageNames.slice(0, count).map((name) => ({ name, data: b64(path.join(imagesDir, name)) }));
  const job = await api('POST', '/run', { input: { images, ground_truth_csv: b64(gtPath), models, options } });
  return job.id;
}

// ---- Browser helpers. ----

function pick(obj, key) {
  return key.split('.').reduce((v, k) => (v === null || v === undefined ? undefined : v[k]), obj);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, name + '.png'), fullPage: true });
}

async function waitForFinal(page, timeout) {
  await page.waitForFunction((final) => final.includes(document.getElementById('job-status')?.textContent),
    FINAL, { timeout });
  return page.textContent('#job-status');
}

// Checks every value cell of the results table against the report. The
// raw number is in data-value. For a finished model the shown text is that
// number rounded to the decimals shown, with CO2 in mg (the report's kg
// times 1e6).
async function checkTable(page, report) {
  const cells = await page.$$eval('#results-table tbody td[data-key]', (tds) => tds.map((td) => ({
    model: td.closest('tr').dataset.model, key: td.dataset.key, value: td.dataset.value, text: td.textContent })));
  const models = Object.keys(report.results);
  assert.deepEqual([...new Set(cells.map((c) => c.model))], models, 'table rows are the report models in order');
  for (const cell of cells) {
    const expected = cell.key === 'status' ? report.results[cell.model].status : pick(report.results[cell.model], cell.key);
    if (typeof expected === 'number') {
      assert.equal(Number(cell.value), expected, cell.model + ' ' + cell.key);
      if (report.results[cell.model].status === 'ok') {
        const shownValue = expected * (cell.key === 'carbon.co2_per_image_kg' ? 1e6 : 1);
        const decimals = (cell.text.split('.')[1] || '').length;
        assert.ok(Math.abs(Number(cell.text) - shownValue) <= 0.5 * 10 ** -decimals * (1 + 1e-9),
          cell.model + ' ' + cell.key + ' shows ' + cell.text + ' for ' + shownValue);
      }
    } else if (typeof expected === 'string') {
      assert.equal(cell.value, expected, cell.model + ' ' + cell.key);
    } else {
      assert.equal(cell.value, '', cell.model + ' ' + cell.key + ' is null in the report');
    }
  }
  return cells.length;
}

// Checks the derived mAP-per-joule column, the cell that marks the most
// efficient model, and the note on the energy source and carbon settings.
async function checkEfficiency(page, report) {
  const cells = await page.$$eval('#results-table tbody td[data-metric=map_per_j]', (tds) => tds.map((td) => ({
    model: td.closest('tr').dataset.model, value: td.dataset.value, winner: td.classList.contains('winner') })));
  assert.equal(cells.length, Object.keys(report.results).length, 'one mAP per J cell per model');
  for (const cell of cells) {
    const result = report.results[cell.model];
    const map = pick(result, 'accuracy.map');
    const joules = pick(result, 'carbon.energy_per_image_j');
    if (typeof map === 'number' && joules > 0) assert.equal(Number(cell.value), map / joules, cell.model + ' mAP per J');
    assert.equal(cell.winner, cell.model === report.comparison.most_efficient, cell.model + ' mAP per J highlight');
  }
  const energyWinners = await page.$$('#results-table td.winner[data-key="carbon.energy_per_image_j"]');
  assert.equal(energyWinners.length, 0, 'no energy cell is marked most efficient');
  const note = await page.textContent('#energy-note');
  const settings = report.metadata.carbon_settings;
  for (const [name, result] of Object.entries(report.results)) {
    assert.ok(note.includes(name + ': ' + result.carbon.energy_source), 'the energy note names the source of ' + name + ': ' + note);
  }
  assert.ok(note.includes(settings.grid_g_per_kwh.toFixed(0) + ' g CO2e/kWh'), 'the energy note shows the grid intensity: ' + note);
  assert.ok(note.includes('PUE ' + settings.pue.toFixed(2)), 'the energy note shows the PUE: ' + note);
  if (Object.values(report.results).some((r) => r.carbon.energy_source === 'estimate')) {
    assert.match(note, /are estimates/, 'an estimate is labelled as one');
  }
}

// ---- Cases. ----

async function caseMain(page) {
  // New run through the form: files, two models, submit.
  await page.goto(base + '/#/new');
  await page.waitForSelector('input[name=model][value=yolox_nano]');
  await page.setInputFiles('#images-input', imageNames.map((n) => path.join(imagesDir, n)));
  await page.setInputFiles('#gt-input', gtPath);
  await page.check('input[name=model][value=yolox_nano]');
  await page.check('input[name=model][value=yolov8n]');
  await page.fill('#opt-warmup', '1');
  assert.match(await page.textContent('#image-summary'), /^6 images/);
  await shot(page, 'new-run');
  await page.click('#submit-run');
  await page.waitForURL(/#\/run\//, { timeout: 30000 });
  const jobId = decodeURIComponent(page.url().split('#/run/')[1]);

  // Progress reaches 100% and the results appear.
  await page.waitForSelector('#model-progress tbody tr', { timeout: 60000 });
  await shot(page, 'run-progress');
  assert.equal(await waitForFinal(page, 240000), 'COMPLETED');
  assert.equal(await page.textContent('#overall-percent'), '100%');
  assert.equal(await page.getAttribute('#overall-progress', 'value'), '100');
  await page.waitForSelector('#results-table');
  await shot(page, 'run-complete');

  const status = await api('GET', '/status/' + jobId);
  const report = status.output;
  const checked = await checkTable(page, report);
  console.log('run page: ' + checked + ' table cells equal /status/' + jobId);

  // Compare: the same values, the winners and every chart.
  await page.click('#open-compare');
  await page.waitForSelector('#results-table');
  await checkTable(page, report);
  for (const key of ['best_accuracy', 'fastest', 'most_efficient', 'greenest']) {
    const shownWinner = await page.textContent('[data-winner=' + key + '] strong');
    assert.equal(shownWinner, report.comparison[key] || 'none', 'winner ' + key);
  }
  for (const id of ['chart-accuracy-latency', 'chart-throughput', 'chart-memory', 'chart-energy', 'chart-co2', 'chart-latency', 'chart-map-ci']) {
    const drawn = await page.$eval('#' + id, (c) => c.width > 0 && c.height > 0);
    assert.ok(drawn, id + ' is drawn');
  }
  await checkEfficiency(page, report);
  await page.waitForTimeout(300);
  await shot(page, 'compare');
  for (const width of [1280, 1400, 2200]) {
    await page.setViewportSize({ width, height: 900 });
    const overflow = await page.$eval('#results-table', (t) => t.parentElement.scrollWidth - t.parentElement.clientWidth);
    assert.ok(overflow <= 1, 'the comparison table fits at ' + width + ' px (overflow ' + overflow + ' px)');
    await shot(page, 'compare-' + width);
  }
  await page.setViewportSize({ width: 1280, height: 900 });

  // History: the run is listed, opens in Compare and exports.
  const runs = (await api('GET', '/runs?limit=50')).runs;
  const run = runs.find((r) => r.job_id === jobId);
  assert.ok(run, 'GET /runs lists the run of job ' + jobId);
  await page.goto(base + '/#/history');
  await page.waitForSelector('tr[data-run-id="' + run.id + '"]');
  await page.waitForTimeout(300);
  await shot(page, 'history');
  await page.selectOption('#filter-model', 'yolov8n');
  await page.waitForSelector('tr[data-run-id="' + run.id + '"]');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('tr[data-run-id="' + run.id + '"] button.export-json'),
  ]);
  const exported = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
  assert.deepEqual(exported, report, 'the exported JSON is the run report');
  const [csvDownload] = await Promise.all([
    page.waitForEvent('download'),
    page.click('tr[data-run-id="' + run.id + '"] button.export-csv'),
  ]);
  const csv = fs.readFileSync(await csvDownload.path(), 'utf8').trim().split('\r\n');
  assert.equal(csv.length, 1 + Object.keys(report.results).length, 'CSV has a header and one row per model');
  await page.click('tr[data-run-id="' + run.id + '"] a.open-compare');
  await page.waitForSelector('#results-table');
  await checkTable(page, report);

  // Phone width.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  await shot(page, 'compare-phone');
  await page.goto(base + '/#/new');
  await page.waitForSelector('input[name=model]');
  await shot(page, 'new-run-phone');
}

async function caseFailedModel(page) {
  const jobId = await submitJob(['yolox_nano', 'broken'], 2, { warmup: 0 });
  await page.goto(base + '/#/run/' + jobId);
  assert.equal(await waitForFinal(page, 180000), 'COMPLETED');
  await page.waitForSelector('#results-table tr.row-failed[data-model=broken]');
  const summary = await page.textContent('#outcome .notice');
  assert.match(summary, /Run complete with failures/);
  assert.match(summary, /broken: error/);
  const report = (await api('GET', '/status/' + jobId)).output;
  assert.equal(report.results.broken.status, 'error');
  await checkTable(page, report);
  await shot(page, 'run-failed-model');
}

async function caseCancelled(page) {
  const jobId = await submitJob(['yolov8n'], 6, { warmup: 0, repeat: 100 });
  await page.goto(base + '/#/run/' + jobId);
  await page.waitForFunction(() => ['IN_QUEUE', 'IN_PROGRESS'].includes(document.getElementById('job-status')?.textContent));
  await page.click('#cancel-job');
  assert.equal(await waitForFinal(page, 60000), 'CANCELLED');
  assert.match(await page.textContent('#outcome'), /Job cancelled/);
  assert.ok(await page.isHidden('#cancel-job'), 'the cancel button is gone');
  assert.equal((await api('GET', '/status/' + jobId)).status, 'CANCELLED');
  assert.ok(await page.isHidden('#overall-progress'), 'a cancelled job shows no progress bar');
  assert.match(await page.textContent('#progress-final'), /^Cancelled/);
  assert.equal((await page.$$('#model-progress progress:not([hidden])')).length, 0, 'a cancelled job shows no model progress bar');
  await shot(page, 'run-cancelled');

  // An unknown job shows that state, not empty progress bars.
  await page.goto(base + '/#/run/00000000-0000-4000-8000-000000000000');
  await page.waitForFunction(() => document.getElementById('job-status')?.textContent === 'NOT FOUND');
  assert.ok(await page.isHidden('#overall-progress'), 'an unknown job shows no progress bar');
  assert.ok(await page.isHidden('#decode-progress'), 'an unknown job shows no image progress bar');
  assert.match(await page.textContent('#progress-final'), /^Unknown job/);
  await shot(page, 'run-unknown');
}

async function caseRestart(page) {
  const jobId = await submitJob(['yolox_nano'], 6, { warmup: 0, repeat: 10 });
  await page.goto(base + '/#/run/' + jobId);
  await page.waitForSelector('#model-progress tbody tr', { timeout: 60000 });

  // Kill the server mid-run: the page shows that it lost the connection.
  await stopServer('SIGKILL');
  killOrphanWorkers();
  await page.waitForFunction(() => /Connection to the server lost/.test(document.getElementById('connection')?.textContent || ''),
    null, { timeout: 30000 });
  assert.notEqual(await page.textContent('#job-status'), '', 'the status stays visible while disconnected');
  await shot(page, 'run-reconnecting');

  // Restart on the same database: the job is queued again and finishes.
  await startServer();
  const status = await waitForFinal(page, 240000);
  assert.ok(FINAL.includes(status));
  assert.notEqual((await page.textContent('#outcome')).trim(), '', 'the outcome is shown');
  assert.equal(status, (await api('GET', '/status/' + jobId)).status);
  assert.equal(status, 'COMPLETED', 'the re-queued job completes after the restart');
  await shot(page, 'run-after-restart');
}

async function caseApiKey(page) {
  // Without the key the page loads but shows that the registry needs it.
  await page.goto(base + '/#/new');
  await page.waitForFunction(() => /key required/.test(document.getElementById('api-key-state').textContent));
  await page.waitForSelector('#model-list .notice-error');
  assert.match(await page.textContent('#model-list'), /Cannot load the models/);
  await shot(page, 'api-key-missing');

  // With the key: models and history load, and the key stays in sessionStorage only.
  await page.fill('#api-key', API_KEY);
  await page.click('#api-key-form button[type=submit]');
  await page.waitForSelector('input[name=model][value=yolox_nano]');
  assert.equal(await page.textContent('#api-key-state'), 'key accepted');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('visionbench.apiKey')), API_KEY);
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing is kept in localStorage');

  // Checks before upload: a file that is not an image, then a fake JPEG.
  const notes = path.join(work, 'notes.txt');
  const fake = path.join(work, 'fake.jpg');
  fs.writeFileSync(notes, 'not an image\n');
  fs.writeFileSync(fake, 'not a JPEG either\n');
  await page.setInputFiles('#images-input', [notes, fake]);
  assert.match(await page.textContent('#file-problems'), /notes\.txt: skipped, not a \.jpg, \.jpeg or \.png image/);
  await page.setInputFiles('#gt-input', gtPath);
  await page.click('#submit-run');
  assert.match(await page.textContent('#new-message'), /Pick at least one model/);
  await page.check('input[name=model][value=yolox_nano]');
  await page.click('#submit-run');
  await page.waitForFunction(() => /fake\.jpg is named \.jpg but is not a JPEG file/.test(document.getElementById('new-message').textContent));
  await shot(page, 'new-run-rejected');
  assert.equal((await api('GET', '/runs', undefined, API_KEY)).runs.length, 0, 'nothing was submitted');

  await page.goto(base + '/#/history');
  await page.waitForSelector('#history-message .notice-info');
  assert.match(await page.textContent('#history-message'), /No runs match/);
}

const CASES = { main: caseMain, failed_model: caseFailedModel, cancelled: caseCancelled, restart: caseRestart,
  api_key: caseApiKey };
if (!CASES[testCase]) {
  console.error('unknown case ' + testCase + '; use one of ' + Object.keys(CASES).join(', '));
  process.exit(2);
}

let browser = null;
let failed = false;
try {
  if (testCase === 'api_key') {
    fs.writeFileSync(path.join(work, 'key'), API_KEY + '\n');
    serverOptions.push('--api-key-file', path.join(work, 'key'));
  }
  await startServer();
  const profile = fs.mkdtempSync(path.join(work, 'profile-'));
  // An empty profile folder: playwright passes it as --user-data-dir.
  browser = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true,
    args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = browser.pages()[0] || await browser.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') console.log('browser console: ' + m.text()); });
  await CASES[testCase](page);
  assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  console.log('PASS ' + testCase + '; screenshots in ' + SHOTS);
} catch (e) {
  failed = true;
  console.error('FAIL ' + testCase + ': ' + (e.stack || e));
  console.error('server log: ' + path.join(work, 'server.log'));
} finally {
  if (browser) await browser.close();
  await stopServer('SIGTERM');
  killOrphanWorkers();
  if (!failed) fs.rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
