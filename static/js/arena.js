/* Arena round: send one prompt over the arena WebSocket, stream the two
   answers side by side, then vote over HTTP; the vote's answer names the
   versions. Final answers show the server's sanitized HTML; streaming text
   is shown as plain text. The socket and the streaming protocol are the
   chat page's (lib/socket.js, lib/stream.js). */
import { h } from './lib/dom.js';
import { api } from './lib/http.js';
import { enhanceMarkdown } from './lib/markdown.js';
import { reconnectingSocket } from './lib/socket.js';
import { ACTIVE, deltaStream, mergeMessage, streamedMessage } from './lib/stream.js';

const root = document.getElementById('arena');
const form = document.getElementById('arena-form');
const prompt = document.getElementById('arena-prompt');
const sendBtn = document.getElementById('arena-send');
const stopBtn = document.getElementById('arena-stop');
const newBtn = document.getElementById('arena-new');
const errorBox = document.getElementById('arena-error');
const questionBox = document.getElementById('arena-question');
const sidesBox = document.getElementById('arena-sides');
const voteBox = document.getElementById('arena-vote');
const resultBox = document.getElementById('arena-result');
const trialVersion = root.dataset.trialVersion ? Number(root.dataset.trialVersion) : null;
const FINAL = new Set(['complete', 'stopped', 'interrupted', 'moderated', 'failed']);
const JUDGEABLE = new Set(['complete', 'stopped']);

let ready = false;         // the server said "ready" on this socket
let pendingStart = null;   // a start frame sent before the socket was ready
let match = null;          // the match as the server last described it
const answers = new Map(); // answer id -> the answer as shown (lib/stream.js)
const sideOf = {};         // answer id -> 'a' | 'b'

const banner = h('div', { class: 'conn-banner', role: 'status', hidden: true });
errorBox.before(banner);

const socket = reconnectingSocket({
  path: '/ws/arena/',
  banner,
  forbidden: 'You are not allowed into the arena; sign in again or ask an admin.',
  onOpen() {
    if (match) socket.send({ type: 'watch', match: match.id });
  },
  onFrame,
  onClose() { ready = false; },
});

const stream = deltaStream({
  fetchMessage: async (m) => (await api('GET', `/arena/api/matches/${match.id}/`)).answers[sideOf[m.id]],
  isCurrent: (m) => answers.get(m.id) === m,
  onFinal: showAnswer,
  onText: showText,
  onResync: showText,
});

function sideEl(side) { return root.querySelector(`[data-side="${side}"]`); }

function showError(text) {
  errorBox.textContent = text;
  errorBox.hidden = !text;
}

function onFrame(frame) {
  if (frame.type === 'ready') {
    ready = true;
    if (pendingStart) { socket.send(pendingStart); pendingStart = null; }
  } else if (frame.type === 'started' || frame.type === 'watching') {
    setMatch(frame.match);
  } else if (frame.type === 'message') {
    updateAnswer(frame.message);
  } else if (frame.type === 'delta') {
    const m = answers.get(frame.message_id);
    if (m) stream.delta(m, frame);
  } else if (frame.type === 'retract') {
    const m = answers.get(frame.message_id);
    if (m) { stream.retract(m); showText(m); }
  } else if (frame.type === 'error') {
    showError(frame.message);
    if (!match) { sendBtn.disabled = false; prompt.disabled = false; }
  }
}

function setMatch(data) {
  match = data;
  questionBox.textContent = data.question.content;
  questionBox.hidden = false;
  sidesBox.hidden = false;
  voteBox.hidden = false;
  form.classList.add('arena-running');
  prompt.disabled = true;
  sendBtn.hidden = true;
  for (const side of ['a', 'b']) {
    const answer = data.answers[side];
    sideOf[answer.id] = side;
    if (!answers.has(answer.id)) answers.set(answer.id, streamedMessage(answer));
    updateAnswer(answer);
  }
  showVersions();
}

function updateAnswer(message) {
  const m = answers.get(message.id);
  if (!m || !mergeMessage(m, message)) return;
  showAnswer(m);
}

function showAnswer(m) {
  const el = sideEl(sideOf[m.id]);
  el.dataset.status = m.status;
  const content = el.querySelector('[data-role=content]');
  if (!ACTIVE.has(m.status) && m.html) {
    content.innerHTML = m.html; // sanitized by the server (core.markdown)
    enhanceMarkdown(content); // code boxes and tables as in the chat
  } else content.textContent = m.content || '';
  const note = el.querySelector('[data-role=note]');
  note.textContent = m.error || (m.status === 'moderated' ? 'Moderation replaced this answer.' : '');
  note.hidden = !note.textContent;
  refreshControls();
}

function showText(m) {
  sideEl(sideOf[m.id]).querySelector('[data-role=content]').textContent = m.content || '';
}

function statuses() {
  if (!match) return [];
  return ['a', 'b'].map((side) => sideEl(side).dataset.status);
}

function refreshControls() {
  const states = statuses();
  const finished = states.length === 2 && states.every((s) => FINAL.has(s));
  const judgeable = states.length === 2 && states.every((s) => JUDGEABLE.has(s));
  stopBtn.hidden = !match || finished;
  const decided = match && match.outcome;
  for (const btn of voteBox.querySelectorAll('button')) btn.disabled = !judgeable || Boolean(decided);
  newBtn.hidden = !(finished || decided);
  if (finished && !judgeable && !decided) {
    resultBox.textContent = 'An answer was moderated, failed or was interrupted, so this round cannot be judged. Start a new round.';
    resultBox.hidden = false;
  }
}

function showVersions() {
  for (const side of ['a', 'b']) {
    const badge = sideEl(side).querySelector('[data-role=version]');
    const name = match && match.versions ? match.versions[side] : null;
    badge.textContent = name || '';
    badge.hidden = !name;
  }
}

async function vote(outcome) {
  for (const btn of voteBox.querySelectorAll('button')) btn.disabled = true;
  let data;
  try {
    data = await api('POST', `/arena/api/matches/${match.id}/vote/`, { outcome });
  } catch (err) {
    showError(err.message);
    refreshControls();
    return;
  }
  match = data;
  for (const btn of voteBox.querySelectorAll('button')) {
    btn.classList.toggle('primary', btn.dataset.outcome === data.outcome);
  }
  showVersions();
  const label = voteBox.querySelector(`[data-outcome="${data.outcome}"]`).textContent;
  resultBox.textContent = `Thanks. You voted "${label}": A was ${data.versions.a}, B was ${data.versions.b}.`;
  resultBox.hidden = false;
  refreshControls();
}

function reset() {
  match = null;
  answers.clear();
  for (const key of Object.keys(sideOf)) delete sideOf[key];
  for (const side of ['a', 'b']) {
    const el = sideEl(side);
    el.dataset.status = '';
    el.querySelector('[data-role=content]').textContent = '';
    el.querySelector('[data-role=note]').hidden = true;
  }
  for (const btn of voteBox.querySelectorAll('button')) { btn.disabled = true; btn.classList.remove('primary'); }
  showVersions();
  questionBox.hidden = sidesBox.hidden = voteBox.hidden = resultBox.hidden = true;
  stopBtn.hidden = newBtn.hidden = true;
  sendBtn.hidden = false;
  sendBtn.disabled = prompt.disabled = false;
  prompt.value = '';
  prompt.focus();
  showError('');
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const content = prompt.value.trim();
  if (!content || sendBtn.disabled) return;
  showError('');
  sendBtn.disabled = true;
  const frame = { type: 'start', request_id: String(Date.now()), content, trial_version: trialVersion };
  if (!ready || !socket.send(frame)) pendingStart = frame;
});
prompt.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
});
stopBtn.addEventListener('click', () => socket.send({ type: 'stop', match: match.id }));
newBtn.addEventListener('click', reset);
voteBox.addEventListener('click', (event) => {
  const btn = event.target.closest('button[data-outcome]');
  if (btn && !btn.disabled) vote(btn.dataset.outcome);
});

socket.connect();
