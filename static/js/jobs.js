/* Training job pages: the new-job form fills in a preset's hyper-parameters
   and shows the inputs a kind needs; a job's page draws its metric curves as
   inline SVG and follows the job live over /ws/jobs/<id>/ (lib/socket.js,
   while the job is queued or running). Nothing external. */
import { h, readJSON, svg } from './lib/dom.js';
import { reconnectingSocket } from './lib/socket.js';

// --- New job form ------------------------------------------------------
// The inputs each kind uses come from the server's recipe table (job-inputs).
const OPTIONAL = ['base_version', 'reward_version', 'snapshot', 'corpus', 'corpus_upload'];

function setUpForm(form) {
  const presets = readJSON('job-presets');
  const inputs = readJSON('job-inputs') || {};
  const kind = form.querySelector('[name=kind]');
  const preset = form.querySelector('[name=preset]');
  const params = form.querySelector('[name=hyperparameters]');
  let edited = params.value.trim() !== '';
  params.addEventListener('input', () => { edited = true; });

  function showInputs() {
    const wanted = inputs[kind.value] || [];
    for (const name of OPTIONAL) {
      const field = form.querySelector(`[data-field="${name}"]`);
      if (field) field.hidden = !wanted.includes(name);
    }
  }
  function fillPreset(force) {
    const values = (presets[kind.value] || {})[preset.value];
    if (!values || (edited && !force)) return;
    params.value = JSON.stringify(values, null, 2);
    edited = false;
  }
  kind.addEventListener('change', () => { showInputs(); fillPreset(true); });
  preset.addEventListener('change', () => fillPreset(true));
  showInputs();
  fillPreset(false);
}

// --- Charts --------------------------------------------------------------
// Which metrics share a chart: train and held-out curves together. The
// colours are CSS tokens (static/css/jobs.css), so dark mode has its own.
const CHARTS = [
  ['Loss', ['loss', 'eval_loss']],
  ['Accuracy', ['accuracy', 'eval_accuracy']],
  ['Bits per byte', ['bits_per_byte', 'eval_bits_per_byte']],
  ['Reward', ['reward']],
  ['KL', ['kl']],
  ['Policy / value loss', ['policy_loss', 'value_loss']],
  ['Entropy', ['entropy']],
  ['Learning rate', ['learning_rate']],
  ['Tokens per second', ['tokens_per_second']],
];
const SERIES_CLASSES = ['series-1', 'series-2'];

function fmt(value) {
  if (!isFinite(value)) return '';
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 0.001 || abs >= 100000)) return value.toExponential(2);
  return String(Math.round(value * 1000) / 1000);
}

function drawChart(container, title, keys, points) {
  const series = keys
    .map((key) => ({ key, data: points.filter((p) => typeof p[key] === 'number' && isFinite(p[key])).map((p) => [p.step, p[key]]) }))
    .filter((s) => s.data.length);
  if (!series.length) return;
  const all = series.flatMap((s) => s.data);
  let [x0, x1] = [Math.min(...all.map((d) => d[0])), Math.max(...all.map((d) => d[0]))];
  let [y0, y1] = [Math.min(...all.map((d) => d[1])), Math.max(...all.map((d) => d[1]))];
  // A lone step sits mid-chart, between steps that do not exist and are not named.
  const loneStep = x0 === x1 ? x0 : null;
  if (loneStep !== null) { x0 -= 1; x1 += 1; }
  if (y0 === y1) { y0 -= 0.5; y1 += 0.5; }
  const W = 400, H = 180, L = 52, R = 8, T = 8, B = 22;
  const sx = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const sy = (y) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
  const heading = h('h3', {}, title + ' · ' + series.map((s) => `${s.key} ${fmt(s.data[s.data.length - 1][1])}`).join(' · '));
  const box = h('div', { class: 'job-chart', 'data-metric': keys[0] }, heading);
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title });
  chart.append(svg('line', { class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B }));
  chart.append(svg('line', { class: 'axis', x1: L, y1: T, x2: L, y2: H - B }));
  for (const [y, anchor] of [[y1, T + 8], [y0, H - B]]) {
    chart.append(svg('text', { x: L - 4, y: anchor, 'text-anchor': 'end' }, fmt(y)));
  }
  if (loneStep !== null) {
    chart.append(svg('text', { x: sx(loneStep), y: H - 6, 'text-anchor': 'middle' }, 'step ' + loneStep));
  } else {
    chart.append(svg('text', { x: L, y: H - 6 }, 'step ' + x0));
    chart.append(svg('text', { x: W - R, y: H - 6, 'text-anchor': 'end' }, 'step ' + x1));
  }
  series.forEach((s, i) => {
    const cls = SERIES_CLASSES[i % SERIES_CLASSES.length];
    const d = s.data.map(([x, y], j) => `${j ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join('');
    chart.append(svg('path', { d, class: `line ${cls}`, 'data-series': s.key }));
    if (s.data.length === 1) {
      const [x, y] = s.data[0];
      chart.append(svg('circle', { cx: sx(x), cy: sy(y), r: 2.5, class: `dot ${cls}` }));
    }
  });
  box.append(chart);
  container.append(box);
}

function drawCharts(container, points) {
  container.replaceChildren();
  for (const [title, keys] of CHARTS) drawChart(container, title, keys, points);
}

// --- Job page ------------------------------------------------------------
function duration(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

const ACTIVE_STATES = ['queued', 'running'];

function setUpJob(page) {
  let job = readJSON('job-data');
  let points = readJSON('job-points');
  const charts = page.querySelector('[data-testid=charts]');
  const log = page.querySelector('[data-testid=job-log]');
  const LOG_LINES = 400;
  let drawPending = false;
  // The page's notices ("Job #1 is queued.", "cancel requested") describe
  // the job as it was on load: once its state moves on they are stale.
  const loadedState = job.state;

  function render() {
    if (job.state !== loadedState) document.querySelector('.flash')?.remove();
    const state = page.querySelector('[data-testid=job-state]');
    state.textContent = job.state.charAt(0).toUpperCase() + job.state.slice(1) + (job.cancel_requested && job.state === 'running' ? ' (cancelling)' : '');
    state.className = `status status-${job.state}`;
    page.querySelector('[data-testid=job-progress]').textContent = job.total_steps ? `step ${job.step} of ${job.total_steps}` : '–';
    page.querySelector('[data-testid=job-eta]').textContent = job.state === 'running' ? duration(job.eta_seconds) : '–';
    page.querySelector('[data-testid=job-error]').textContent = job.error || '';
    if (job.output_version) {
      const link = h('a', { href: `/models/${job.output_version.id}/lineage/` }, job.output_version.name);
      page.querySelector('[data-testid=job-output]').replaceChildren(link);
    }
    const cancel = page.querySelector('[data-testid=cancel-form]');
    if (cancel && !ACTIVE_STATES.includes(job.state)) cancel.remove();
  }
  function scheduleDraw() {
    if (drawPending) return;
    drawPending = true;
    requestAnimationFrame(() => { drawPending = false; drawCharts(charts, points); });
  }
  function appendLog(lines) {
    const stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    const text = (log.textContent ? log.textContent + '\n' : '') + lines.join('\n');
    log.textContent = text.split('\n').slice(-LOG_LINES).join('\n');
    if (stick) log.scrollTop = log.scrollHeight;
  }

  render();
  drawCharts(charts, points);
  log.scrollTop = log.scrollHeight;

  const banner = h('div', { class: 'conn-banner', role: 'status', hidden: true });
  page.prepend(banner);
  const socket = reconnectingSocket({
    path: page.dataset.wsPath,
    banner,
    forbidden: 'You may not follow this job.',
    // A finished job sends nothing more: no reconnect.
    reconnectWhile: () => ACTIVE_STATES.includes(job.state),
    onFrame(frame) {
      if (frame.type === 'snapshot') {
        job = frame.job; points = frame.points; log.textContent = frame.log;
        render(); scheduleDraw(); log.scrollTop = log.scrollHeight;
        page.dataset.live = 'true';
      } else if (frame.type === 'progress') {
        job = frame.job; render();
      } else if (frame.type === 'metrics') {
        points = points.concat(frame.points); scheduleDraw();
      } else if (frame.type === 'log') {
        appendLog(frame.lines);
      }
    },
    onClose() { page.dataset.live = 'false'; },
  });
  socket.connect();
}

const form = document.getElementById('job-form');
if (form) setUpForm(form);
const page = document.getElementById('job-page');
if (page) setUpJob(page);
