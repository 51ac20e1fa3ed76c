/* What opens under a message: the editor of a user message, the feedback
   panel and the report panel of an answer; and the branch switcher's
   action. Each changes `state.ui` and re-renders the thread. */
import { h, iconBtn } from '../lib/dom.js';
import { api } from '../lib/http.js';
import { cpLen } from '../lib/codepoints.js';
import { FEEDBACK_REASONS, MAX_CHARS, REPORT_MAX_CHARS, showError, state, toast } from './page.js';
import { activeAnswer, buildIndex, newestLeaf } from './tree.js';
import { renderThread } from './render.js';
import { autosize, limitMessage, sendMessage } from './composer.js';

// ------------------------------------------------------------ editing

export function buildEditor(m) {
  const ta = h('textarea', { class: 'edit-input', testid: 'edit-input', 'aria-label': 'Edit your message', rows: '2' });
  ta.value = state.ui.editDraft;
  ta.addEventListener('input', () => { state.ui.editDraft = ta.value; autosize(ta, 320); });
  ta.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { e.preventDefault(); cancelEdit(); }
    else if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); saveEdit(m); }
  });
  requestAnimationFrame(() => autosize(ta, 320));
  return h('div', { class: 'msg-editor' }, ta,
    h('div', { class: 'editor-actions' },
      h('button', { type: 'button', class: 'btn ghost', onclick: cancelEdit }, 'Cancel'),
      h('button', { type: 'button', class: 'btn primary', testid: 'edit-save', onclick: () => saveEdit(m) }, 'Save & submit')));
}

export function startEdit(m) {
  state.ui.editing = m.id;
  state.ui.editDraft = m.content;
  state.ui.editFocus = true;
  renderThread();
}

function cancelEdit() {
  state.ui.editing = null;
  state.ui.editDraft = '';
  renderThread();
}

function saveEdit(m) {
  const text = state.ui.editDraft;
  if (!text.trim()) { showError('The message is empty.', 'local'); return; }
  if (cpLen(text) > MAX_CHARS) { showError(limitMessage(cpLen(text)), 'limit'); return; }
  if (activeAnswer(state.messages, state.leaf)) {
    showError('Wait for the current answer to finish, or stop it first.', 'local');
    return;
  }
  sendMessage(text, m.parent == null ? null : m.parent, 'edit');
}

// ------------------------------------------------------------ feedback

const fbQueue = new Map(); // message id -> promise, so saves land in order

function postFeedback(m, body) {
  const prev = fbQueue.get(m.id) || Promise.resolve();
  const next = prev.catch(() => {}).then(() => api('POST', `/api/messages/${m.id}/feedback/`, body));
  fbQueue.set(m.id, next);
  return next.then((saved) => {
    state.feedback.set(m.id, { rating: saved.rating, reasons: saved.reasons || [], comment: saved.comment || '' });
    return saved;
  });
}

export function rate(m, rating) {
  const saved = state.feedback.get(m.id);
  const same = saved && saved.rating === rating;
  if (state.ui.fb && state.ui.fb.id === m.id && state.ui.fb.rating === rating) {
    state.ui.fb = null; // a second click closes the panel
    renderThread();
    return;
  }
  // The panel's Save stores the rating with its reasons and comment.
  state.ui.report = null;
  state.ui.fb = {
    id: m.id, rating,
    reasons: new Set(same ? saved.reasons : []),
    comment: same ? saved.comment : '',
    focus: true,
  };
  renderThread();
}

export function buildFeedbackPanel(m) {
  const fb = state.ui.fb;
  const reasons = FEEDBACK_REASONS[String(fb.rating)] || [];
  const chips = reasons.map((r) => {
    const chip = h('button', {
      type: 'button', class: 'chip' + (fb.reasons.has(r) ? ' on' : ''), testid: 'feedback-reason',
      'data-reason': r, 'aria-pressed': String(fb.reasons.has(r)),
    }, r);
    chip.addEventListener('click', () => {
      if (fb.reasons.has(r)) fb.reasons.delete(r); else fb.reasons.add(r);
      chip.classList.toggle('on', fb.reasons.has(r));
      chip.setAttribute('aria-pressed', String(fb.reasons.has(r)));
    });
    return chip;
  });
  const comment = h('textarea', {
    class: 'fb-comment', testid: 'feedback-comment', rows: '2', maxlength: '4000',
    placeholder: 'Anything else? (optional)', 'aria-label': 'Feedback comment',
  });
  comment.value = fb.comment;
  comment.addEventListener('input', () => { fb.comment = comment.value; });
  const save = h('button', { type: 'button', class: 'btn primary small', testid: 'feedback-save' }, 'Save');
  save.addEventListener('click', async () => {
    save.disabled = true;
    try {
      await postFeedback(m, { rating: fb.rating, reasons: [...fb.reasons], comment: fb.comment });
      if (state.ui.fb === fb) state.ui.fb = null;
      renderThread();
      toast('Thanks for your feedback.');
    } catch (err) {
      save.disabled = false;
      showError(err.message);
    }
  });
  const panel = h('div', { class: 'fb-panel', role: 'group', 'aria-label': 'Tell us more about this answer' },
    h('div', { class: 'fb-head' },
      h('span', {}, fb.rating === 1 ? 'What was good about it?' : 'What went wrong?'),
      iconBtn('x', 'Close feedback', { onclick: () => { state.ui.fb = null; renderThread(); } })),
    h('div', { class: 'fb-chips' }, chips),
    comment,
    h('div', { class: 'fb-actions' }, save));
  if (fb.focus) {
    fb.focus = false;
    requestAnimationFrame(() => { const first = panel.querySelector('.chip'); if (first) first.focus({ preventScroll: true }); });
  }
  return panel;
}

// ------------------------------------------------------------ reports

export function toggleReport(m) {
  const open = state.ui.report && state.ui.report.id === m.id;
  state.ui.report = open ? null : { id: m.id, reason: '', focus: true };
  if (!open) state.ui.fb = null; // one panel at a time under an answer
  renderThread();
}

export function buildReportPanel(m) {
  const report = state.ui.report;
  const reason = h('textarea', {
    class: 'fb-comment', testid: 'report-reason', rows: '3', maxlength: String(REPORT_MAX_CHARS),
    placeholder: 'What is wrong with this answer? (optional)', 'aria-label': 'Why you report this answer',
  });
  reason.value = report.reason;
  reason.addEventListener('input', () => { report.reason = reason.value; });
  const submit = h('button', { type: 'button', class: 'btn primary small', testid: 'report-submit' }, 'Submit report');
  submit.addEventListener('click', async () => {
    submit.disabled = true;
    try {
      const filed = await api('POST', `/api/messages/${m.id}/report/`, { reason: report.reason });
      state.reports.set(m.id, filed.report);
      if (state.ui.report === report) state.ui.report = null;
      renderThread();
      toast('Thanks. A moderator will review this answer.');
    } catch (err) {
      submit.disabled = false;
      showError(err.message);
    }
  });
  const panel = h('div', { class: 'fb-panel report-panel', role: 'group', 'aria-label': 'Report this answer' },
    h('div', { class: 'fb-head' },
      h('span', {}, 'Report this answer to the moderators'),
      iconBtn('x', 'Close report', { onclick: () => { state.ui.report = null; renderThread(); } })),
    reason,
    h('div', { class: 'fb-actions' }, submit));
  if (report.focus) {
    report.focus = false;
    requestAnimationFrame(() => reason.focus({ preventScroll: true }));
  }
  return panel;
}

// ------------------------------------------------------------ branches

export async function switchBranch(target) {
  if (!target) return;
  state.leaf = newestLeaf(target, buildIndex(state.messages)).id;
  state.ui.fb = null;
  state.ui.report = null;
  renderThread();
  if (!state.convId) return;
  const conv = state.convId;
  try {
    const res = await api('POST', `/api/conversations/${conv}/select/`, { message: target.id });
    if (state.convId === conv && res && res.current_leaf != null && res.current_leaf !== state.leaf
        && state.messages.has(res.current_leaf)) {
      state.leaf = res.current_leaf;
      renderThread();
    }
  } catch (err) {
    showError(err.message);
  }
}
