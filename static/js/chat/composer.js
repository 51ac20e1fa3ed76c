/* The composer and the frames that ask for an answer (send, edit,
   regenerate, stop). A request waits in `state.pending` until the server's
   `sent` frame confirms it (connection.js); unconfirmed, its text goes back
   into the composer. A message sent while the socket is still opening (the
   page just loaded) or reconnecting waits in `state.pending` as `unsent`
   and goes out when it opens (flushUnsent), unless SENT_TIMEOUT_MS passes
   first: then it was never sent, and its text goes back. */
import { cpLen } from '../lib/codepoints.js';
import { MAX_CHARS, WARN_CHARS, clearError, els, fmt, showError, state } from './page.js';
import { activeAnswer, lastAssistantOnPath } from './tree.js';
import { sendFrame, socketStopped } from './connection.js';
import { renderThread } from './render.js';
import { newChatModel } from './model_picker.js';

const SENT_TIMEOUT_MS = 20000;
const BUSY = 'Wait for the current answer to finish, or stop it first.';
const OFFLINE = 'Not connected to the server. Reconnecting…';
const OFFLINE_STOPPED = 'Not connected to the server.';
const WAITING = 'Not connected yet: your message goes out as soon as the connection opens.';
const NOT_SENT = 'Could not reach the server, so your message was not sent. It is back in the box.';
let seq = 0;

/** Grows a textarea with its text, up to `max` pixels (CSSOM, which the
    Content-Security-Policy allows, unlike style attributes). */
export function autosize(ta, max) {
  ta.style.height = 'auto';
  ta.style.height = Math.min(ta.scrollHeight + 2, max) + 'px';
  ta.style.overflowY = ta.scrollHeight > max ? 'auto' : 'hidden';
}

export function composerMax() {
  return Math.max(120, Math.round(window.innerHeight * 0.3));
}

export function limitMessage(n) {
  return `Your message is ${fmt(n)} characters long; the limit is ${fmt(MAX_CHARS)}. Shorten it by ${fmt(n - MAX_CHARS)} to send.`;
}

export function updateComposer() {
  const act = activeAnswer(state.messages, state.leaf);
  els.send.hidden = !!act;
  els.stop.hidden = !act;
  const text = els.composer.value;
  const n = cpLen(text);
  els.send.disabled = !text.trim() || state.sending;
  els.send.classList.toggle('over', n > MAX_CHARS);
  if (n >= WARN_CHARS) {
    els.counter.textContent = `${fmt(n)} / ${fmt(MAX_CHARS)}`;
    els.counter.className = 'counter ' + (n > MAX_CHARS ? 'over' : 'warn');
  } else {
    els.counter.textContent = '';
    els.counter.className = 'counter';
  }
  if (n > MAX_CHARS) {
    if (state.errorKind !== 'limit' || els.error.textContent !== limitMessage(n)) showError(limitMessage(n), 'limit');
  } else {
    clearError('limit');
  }
}

/** Puts the text of an unconfirmed send back, unless something new was typed. */
export function restoreDraft(req) {
  if (req.kind === 'send' && !els.composer.value) {
    els.composer.value = req.content;
    autosize(els.composer, composerMax());
  }
}

function submitComposer() {
  const text = els.composer.value;
  if (!text.trim()) return;
  const n = cpLen(text);
  if (n > MAX_CHARS) { showError(limitMessage(n), 'limit'); return; }
  if (state.sending) return;
  if (activeAnswer(state.messages, state.leaf)) { showError(BUSY, 'local'); return; }
  if (sendMessage(text, lastAssistantOnPath(state.messages, state.leaf), 'send')) {
    els.composer.value = '';
    autosize(els.composer, composerMax());
    updateComposer();
  }
}

const requestId = () => `r${Date.now().toString(36)}${++seq}`;

export function sendMessage(text, parent, kind) {
  clearError();
  if (socketStopped()) { showError(OFFLINE_STOPPED, 'conn'); return false; }
  const request_id = requestId();
  const frame = { type: 'send', request_id, conversation: state.convId, parent, content: text };
  if (state.convId == null && state.pendingSettings) frame.settings = state.pendingSettings;
  if (state.convId == null) frame.model = newChatModel();
  const unsent = sendFrame(frame) ? null : frame;
  if (unsent) showError(WAITING, 'conn');
  state.pending.set(request_id, { kind, content: text, newChat: state.convId == null, nav: state.nav, unsent });
  state.sending = true;
  state.follow = true;
  updateComposer();
  setTimeout(() => {
    const req = state.pending.get(request_id);
    if (!req) return;
    state.pending.delete(request_id);
    state.sending = state.pending.size > 0;
    if (req.unsent) {
      restoreDraft(req);
      showError(NOT_SENT, 'conn');
    } else {
      showError('The server did not confirm your message. Check the conversation and try again.');
    }
    updateComposer();
  }, SENT_TIMEOUT_MS);
  return true;
}

/** Sends the messages that waited for the socket to open (connection.js,
    after it subscribed to the conversation shown). */
export function flushUnsent() {
  for (const req of state.pending.values()) {
    if (req.unsent && sendFrame(req.unsent)) req.unsent = null;
  }
}

export function regenerate(m) {
  if (activeAnswer(state.messages, state.leaf)) { showError(BUSY, 'local'); return; }
  clearError();
  const request_id = requestId();
  if (!sendFrame({ type: 'regenerate', request_id, message: m.id })) {
    showError(OFFLINE, 'conn');
    return;
  }
  state.pending.set(request_id, { kind: 'regenerate', nav: state.nav });
  state.ui.fb = null;
  state.follow = true;
}

/** Continue: the cut-off answer `m` is queued again and streams on after
    its text (chat.services.answer_continue). It shows as queued at once,
    so the frames of its new run are not taken for stale ones. */
export function continueAnswer(m) {
  if (activeAnswer(state.messages, state.leaf)) { showError(BUSY, 'local'); return; }
  clearError();
  const request_id = requestId();
  if (!sendFrame({ type: 'continue', request_id, message: m.id })) {
    showError(OFFLINE, 'conn');
    return;
  }
  state.pending.set(request_id, { kind: 'continue', nav: state.nav });
  Object.assign(m, { status: 'queued', finish_reason: '' });
  state.ui.fb = null;
  state.follow = true;
  renderThread();
}

function stopAnswer() {
  const act = activeAnswer(state.messages, state.leaf);
  if (!act) return;
  if (!sendFrame({ type: 'stop', message: act.id })) showError(OFFLINE, 'conn');
}

export function initComposer() {
  els.composer.addEventListener('input', () => {
    autosize(els.composer, composerMax());
    updateComposer();
  });
  els.composer.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submitComposer();
    }
  });
  els.form.addEventListener('submit', (e) => { e.preventDefault(); submitComposer(); });
  els.stop.addEventListener('click', stopAnswer);
  els.suggestions.addEventListener('click', (e) => {
    const btn = e.target.closest('.suggestion');
    if (!btn) return;
    els.composer.value = btn.dataset.prompt;
    autosize(els.composer, composerMax());
    updateComposer();
    els.composer.focus();
  });
}
