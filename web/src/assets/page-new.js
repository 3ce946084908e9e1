// The New run page: images, ground truth, models and options, checked in the browser, then POST /run.

import { ApiError, request } from './api.js';
import { el, notice } from './dom.js';

// Limits checked before upload. The server enforces its own (docs/api.md);
// these catch the common mistakes before a large upload starts.
const MAX_IMAGES = 1000;               // VB_SERVER_MAX_IMAGES
const MAX_MODELS = 8;                  // VB_SERVER_MAX_MODELS
const MAX_IMAGE_BYTES = 64 * 1024 * 1024;
const MAX_GT_BYTES = 64 * 1024 * 1024; // the server's ground-truth limit
const MAX_NAME_BYTES = 128;            // VB_SERVER_NAME_MAX
// The largest request body any server accepts (--max-body-mb 1024). A
// server started with a lower limit rejects the body with 413, and the page
// shows that error.
const MAX_BODY_BYTES = 1024 * 1024 * 1024;
const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png'];

function extensionOf(name) {
  const dot = name.lastIndexOf('.');
  return dot >= 0 ? name.slice(dot).toLowerCase() : '';
}

function formatBytes(n) {
  if (n >= 1024 * 1024) return (n / 1024 / 1024).toFixed(1) + ' MiB';
  if (n >= 1024) return (n / 1024).toFixed(1) + ' KiB';
  return n + ' B';
}

// Estimates the request body size in bytes: base64 turns 3 bytes into 4,
// plus about 64 bytes of JSON per image.
function encodedSize(bytes, images) {
  return Math.ceil(bytes / 3) * 4 + images * 64 + 4096;
}

// Returns the standard base64 of a file's bytes.
async function fileToBase64(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  const step = 0x8000;
  for (let i = 0; i < bytes.length; i += step) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + step));
  }
  return btoa(binary);
}

// Returns null when the file starts with the JPEG or PNG signature its
// extension promises, else the reason.
async function checkImageSignature(file) {
  const head = new Uint8Array(await file.slice(0, 8).arrayBuffer());
  const ext = extensionOf(file.name);
  const isJpeg = head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff;
  const isPng = head[0] === 0x89 && head[1] === 0x50 && head[2] === 0x4e && head[3] === 0x47;
  if (ext === '.png' && !isPng) return 'is named .png but is not a PNG file';
  if (ext !== '.png' && !isJpeg) return 'is named ' + ext + ' but is not a JPEG file';
  return null;
}

// Collects the files under a dropped folder entry (webkitGetAsEntry).
async function filesFromEntry(entry, out) {
  if (entry.isFile) {
    out.push(await new Promise((resolve, reject) => entry.file(resolve, reject)));
    return;
  }
  const reader = entry.createReader();
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    for (const child of batch) await filesFromEntry(child, out);
  }
}

// Splits chosen files into images and a ground-truth candidate, checking
// each image's extension, size and name. Returns {images, groundTruth, problems}.
function sortFiles(files) {
  const images = [];
  const problems = [];
  let groundTruth = null;
  for (const file of files) {
    const ext = extensionOf(file.name);
    if (ext === '.csv' || ext === '.json') {
      groundTruth = groundTruth || file;
    } else if (!IMAGE_EXTENSIONS.includes(ext)) {
      if (!file.name.startsWith('.')) problems.push(file.name + ': skipped, not a .jpg, .jpeg or .png image');
    } else if (file.size > MAX_IMAGE_BYTES) {
      problems.push(file.name + ': ' + formatBytes(file.size) + ' is above the ' + formatBytes(MAX_IMAGE_BYTES) + ' limit per image');
    } else if (new TextEncoder().encode(file.name).length > MAX_NAME_BYTES) {
      problems.push(file.name + ': the name is longer than ' + MAX_NAME_BYTES + ' bytes');
    } else if (file.size === 0) {
      problems.push(file.name + ': the file is empty');
    } else {
      images.push(file);
    }
  }
  return { images, groundTruth, problems };
}

export function renderNewRun(view) {
  const state = { images: [], groundTruth: null, problems: [] };
  let controller = null;

  const message = el('div', { id: 'new-message', 'aria-live': 'polite' });
  const imageSummary = el('p', { id: 'image-summary', class: 'muted', text: 'No images chosen.' });
  const gtSummary = el('p', { id: 'gt-summary', class: 'muted', text: 'No ground truth chosen.' });
  const problemList = el('ul', { id: 'file-problems', class: 'problems' });
  const modelList = el('fieldset', { id: 'model-list', class: 'models' }, el('legend', { text: 'Models' }),
    el('p', { class: 'muted', text: 'Loading the model registry…' }));
  const submit = el('button', { type: 'submit', id: 'submit-run', class: 'primary', text: 'Start benchmark' });

  function showFiles() {
    const bytes = state.images.reduce((sum, f) => sum + f.size, 0);
    imageSummary.textContent = state.images.length === 0 ? 'No images chosen.'
      : state.images.length + ' image' + (state.images.length === 1 ? '' : 's') + ' (' + formatBytes(bytes) + ')';
    gtSummary.textContent = state.groundTruth
      ? state.groundTruth.name + ' (' + formatBytes(state.groundTruth.size) + ', ' +
        (extensionOf(state.groundTruth.name) === '.csv' ? 'CSV' : 'COCO JSON') + ')'
      : 'No ground truth chosen.';
    problemList.replaceChildren(...state.problems.map((p) => el('li', { text: p })));
  }

  function addFiles(files) {
    const sorted = sortFiles(files);
    const known = new Set(state.images.map((f) => f.name));
    for (const image of sorted.images) {
      if (known.has(image.name)) {
        sorted.problems.push(image.name + ': skipped, an image with this name is already chosen');
        continue;
      }
      known.add(image.name);
      state.images.push(image);
    }
    if (sorted.groundTruth) setGroundTruth(sorted.groundTruth);
    state.problems = sorted.problems;
    showFiles();
  }

  function setGroundTruth(file) {
    const ext = extensionOf(file.name);
    if (ext !== '.csv' && ext !== '.json') {
      state.problems = [file.name + ': the ground truth must be a .csv file or a COCO .json file'];
      return;
    }
    if (file.size > MAX_GT_BYTES) {
      state.problems = [file.name + ': ' + formatBytes(file.size) + ' is above the ' + formatBytes(MAX_GT_BYTES) + ' ground-truth limit'];
      return;
    }
    state.groundTruth = file;
  }

  // File pickers and the drop zone.
  const imagesInput = el('input', { type: 'file', id: 'images-input', multiple: true, accept: IMAGE_EXTENSIONS.join(','),
    onchange: (e) => addFiles([...e.target.files]) });
  const folderInput = el('input', { type: 'file', id: 'folder-input', multiple: true, webkitdirectory: true,
    onchange: (e) => addFiles([...e.target.files]) });
  const gtInput = el('input', { type: 'file', id: 'gt-input', accept: '.csv,.json',
    onchange: (e) => { state.problems = []; if (e.target.files[0]) setGroundTruth(e.target.files[0]); showFiles(); } });
  const dropZone = el('div', { id: 'drop-zone', class: 'drop-zone', tabindex: '0', role: 'region',
    'aria-label': 'Drop a folder of images and a ground-truth file here' },
  'Drop a folder of images (.jpg, .png) and its ground truth (.csv or COCO .json) here');
  dropZone.addEventListener('dragover', (e) => { e.preventDefault(); dropZone.classList.add('over'); });
  dropZone.addEventListener('dragleave', () => dropZone.classList.remove('over'));
  dropZone.addEventListener('drop', async (e) => {
    e.preventDefault();
    dropZone.classList.remove('over');
    const files = [];
    const entries = [...e.dataTransfer.items].map((item) => item.webkitGetAsEntry && item.webkitGetAsEntry()).filter(Boolean);
    if (entries.length > 0) {
      for (const entry of entries) await filesFromEntry(entry, files);
    } else {
      files.push(...e.dataTransfer.files);
    }
    addFiles(files);
  });
  const clear = el('button', { type: 'button', id: 'clear-files', text: 'Clear files',
    onclick: () => { state.images = []; state.groundTruth = null; state.problems = []; imagesInput.value = ''; folderInput.value = ''; gtInput.value = ''; showFiles(); } });

  // Options with the server's allowed ranges; empty fields keep the run
  // defaults of src/run/options.c.
  const option = (id, label, attrs, help) => el('div', { class: 'option' },
    el('label', { for: id, text: label }), el('input', Object.assign({ id, name: id }, attrs)),
    help ? el('small', { class: 'muted', text: help }) : null);
  const options = el('fieldset', { class: 'options' }, el('legend', { text: 'Options' }),
    option('opt-conf', 'Confidence threshold', { type: 'number', min: '0', max: '1', step: '0.01', placeholder: '0.25' }, '0 to 1; empty: 0.25'),
    option('opt-iou', 'NMS IoU threshold', { type: 'number', min: '0.01', max: '1', step: '0.01', placeholder: '0.7' }, 'above 0, up to 1; empty: 0.7'),
    option('opt-threads', 'Threads', { type: 'number', min: '0', max: '256', step: '1', placeholder: 'all cores' }, '0 or empty: every core'),
    option('opt-warmup', 'Warm-up runs', { type: 'number', min: '0', max: '100', step: '1', placeholder: '3' }, '0 to 100; empty: 3'),
    option('opt-repeat', 'Timed passes', { type: 'number', min: '1', max: '100', step: '1', placeholder: '1' }, '1 to 100; empty: 1'),
    option('opt-classes', 'Classes to keep', { type: 'text', placeholder: 'e.g. car, truck' }, 'comma-separated; empty keeps every class'));

  // Loads the registry (GET /models) into checkboxes.
  async function loadModels() {
    try {
      const data = await request('GET', '/models');
      const names = (data.models || []).map((m) => (typeof m === 'string' ? m : m.name));
      const boxes = names.map((name) => el('label', { class: 'model' },
        el('input', { type: 'checkbox', name: 'model', value: name }), ' ' + name));
      modelList.replaceChildren(el('legend', { text: 'Models (at most ' + MAX_MODELS + ')' }),
        ...(boxes.length ? boxes : [el('p', { class: 'muted', text: 'The server has no models: put NAME.onnx files in its --models-dir.' })]));
    } catch (e) {
      modelList.replaceChildren(el('legend', { text: 'Models' }), notice('error', 'Cannot load the models.', e.message));
    }
  }

  // Reads the form into the /run input, or throws Error naming what to fix.
  function readOptions() {
    const out = {};
    const number = (id, key, integer) => {
      const input = document.getElementById(id);
      if (input.value === '') return;
      if (!input.checkValidity()) throw new Error(input.labels[0].textContent + ': ' + input.validationMessage);
      out[key] = integer ? parseInt(input.value, 10) : parseFloat(input.value);
    };
    number('opt-conf', 'conf', false);
    number('opt-iou', 'iou', false);
    number('opt-threads', 'threads', true);
    number('opt-warmup', 'warmup', true);
    number('opt-repeat', 'repeat', true);
    const classes = document.getElementById('opt-classes').value.split(',').map((s) => s.trim()).filter(Boolean);
    if (classes.length > 0) out.classes = classes;
    return out;
  }

  async function onSubmit(event) {
    event.preventDefault();
    message.replaceChildren();
    const models = [...modelList.querySelectorAll('input[name=model]:checked')].map((b) => b.value);
    const total = state.images.reduce((sum, f) => sum + f.size, 0) + (state.groundTruth ? state.groundTruth.size : 0);
    let problem = null;
    if (state.images.length === 0) problem = 'Choose at least one .jpg or .png image.';
    else if (state.images.length > MAX_IMAGES) problem = state.images.length + ' images chosen; the server takes at most ' + MAX_IMAGES + '.';
    else if (!state.groundTruth) problem = 'Choose the ground-truth file (.csv or COCO .json).';
    else if (models.length === 0) problem = 'Pick at least one model.';
    else if (models.length > MAX_MODELS) problem = models.length + ' models picked; a run takes at most ' + MAX_MODELS + '.';
    else if (encodedSize(total, state.images.length) > MAX_BODY_BYTES) problem = 'The files add up to ' + formatBytes(total) + ', above what a server accepts in one request (' + formatBytes(MAX_BODY_BYTES) + ' once base64-encoded); split the images into several runs.';
    let options;
    try {
      options = readOptions();
    } catch (e) {
      problem = problem || e.message;
    }
    if (problem) {
      message.replaceChildren(notice('error', 'Cannot start the run.', problem));
      return;
    }

    // Check each image's signature, then encode everything as base64.
    submit.disabled = true;
    controller = new AbortController();
    try {
      message.replaceChildren(notice('info', 'Checking and encoding ' + state.images.length + ' images…'));
      const images = [];
      for (const file of state.images) {
        const bad = await checkImageSignature(file);
        if (bad) throw new Error(file.name + ' ' + bad + '. Press Clear files, then choose only JPEG and PNG images.');
        images.push({ name: file.name, data: await fileToBase64(file) });
      }
      const input = { images, models, options };
      const gtKey = extensionOf(state.groundTruth.name) === '.csv' ? 'ground_truth_csv' : 'ground_truth_coco';
      input[gtKey] = await fileToBase64(state.groundTruth);
      message.replaceChildren(notice('info', 'Uploading ' + formatBytes(total) + '…'));
      const job = await request('POST', '/run', { input }, controller.signal);
      location.hash = '#/run/' + encodeURIComponent(job.id);
    } catch (e) {
      if (e.name === 'AbortError') return;
      const field = e instanceof ApiError && e.field ? ' (' + e.field + ')' : '';
      message.replaceChildren(notice('error', 'The run was not started.', e.message + field));
    } finally {
      submit.disabled = false;
    }
  }

  view.replaceChildren(
    el('h1', { text: 'New run' }),
    el('form', { id: 'new-run-form', onsubmit: onSubmit, novalidate: true },
      el('fieldset', { class: 'files' }, el('legend', { text: 'Images and ground truth' }),
        dropZone,
        el('div', { class: 'pickers' },
          el('label', { for: 'folder-input', class: 'picker' }, 'Choose a folder', folderInput),
          el('label', { for: 'images-input', class: 'picker' }, 'Choose images', imagesInput),
          el('label', { for: 'gt-input', class: 'picker' }, 'Choose ground truth (.csv, .json)', gtInput),
          clear),
        imageSummary, gtSummary, problemList),
      modelList, options, message, submit));
  loadModels();
  return () => controller && controller.abort();
}
