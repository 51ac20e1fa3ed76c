/* The thread: a keyed reconcile of the current path. Each message element
   is rebuilt only when its signature (what it shows) changes; streaming
   text goes straight into the answer's Text node. */
import { copyText } from '../lib/clipboard.js';
import { $, h, icon, iconBtn } from '../lib/dom.js';
import { enhanceMarkdown } from '../lib/markdown.js';
import { ACTIVE } from '../lib/stream.js';
import { els, fmt, state, toast } from './page.js';
import { buildIndex, currentPath, siblingsOf } from './tree.js';
import {
  buildEditor, buildFeedbackPanel, buildReportPanel, rate, startEdit, switchBranch, toggleReport,
} from './panels.js';
import { continueAnswer, regenerate, updateComposer } from './composer.js';

const cache = new Map(); // message id -> {el, sig, textNode}

/** Forgets every built message (a conversation switch). */
export function clearThread() {
  cache.clear();
  els.thread.replaceChildren();
}

export function renderThread() {
  const idx = buildIndex(state.messages);
  const path = currentPath(state.messages, state.leaf, idx);
  const wanted = [];
  const keep = new Set();
  for (const m of path) {
    const sibs = siblingsOf(m, idx);
    const parentMsg = m.parent != null ? state.messages.get(m.parent) : null;
    const ctx = {
      sibs,
      index: sibs.findIndex((s) => s.id === m.id),
      canRegen: m.role === 'assistant' && !!parentMsg && parentMsg.status === 'accepted',
      // Continue writes on in place, so only where nothing follows the answer.
      isNewest: !(idx.get(m.id) || []).length,
    };
    const sig = messageSig(m, ctx);
    let entry = cache.get(m.id);
    if (!entry || entry.sig !== sig) {
      const built = buildMessage(m, ctx);
      if (entry && entry.el.isConnected) entry.el.replaceWith(built.el);
      entry = { el: built.el, sig, textNode: built.textNode };
      cache.set(m.id, entry);
    }
    keep.add(m.id);
    wanted.push(entry.el);
  }
  // Put the wanted elements in order, drop the rest.
  let cursor = els.thread.firstElementChild;
  for (const el of wanted) {
    if (el === cursor) { cursor = cursor.nextElementSibling; continue; }
    els.thread.insertBefore(el, cursor);
  }
  while (cursor) {
    const next = cursor.nextElementSibling;
    cursor.remove();
    cursor = next;
  }
  for (const id of cache.keys()) if (!keep.has(id)) cache.delete(id);

  els.empty.hidden = path.length > 0 || state.loading;
  els.thread.classList.toggle('loading', state.loading);
  if (state.ui.editFocus) {
    state.ui.editFocus = false;
    const ta = $('[data-testid=edit-input]', els.thread);
    if (ta) { ta.focus(); ta.setSelectionRange(ta.value.length, ta.value.length); }
  }
  updateComposer();
  maybeScroll();
}

function messageSig(m, ctx) {
  const fb = state.feedback.get(m.id);
  const ui = state.ui;
  const body = ACTIVE.has(m.status)
    ? `${m._retracted ? 'R' : ''}${m._cp > 0 ? 'T' : ''}${m._held ? 'H' : ''}`
    : `${(m.html || '').length}:${m._cp}`;
  return [
    m.status, m.error, m.flagged, m.model, m.completion_tokens, m.tokens_per_second, m.ttft_ms, m.finish_reason,
    body, ctx.index, ctx.sibs.length, ctx.canRegen, ctx.isNewest,
    // While the panel is open a save must not rebuild it under the pointer.
    ui.fb && ui.fb.id === m.id ? `panel${ui.fb.rating}` : `saved${fb ? fb.rating : 0}`,
    ui.report && ui.report.id === m.id ? 'report' : (state.reports.get(m.id) || {}).status,
    ui.editing === m.id,
  ].join('|');
}

function badge(text, kind, title, iconName) {
  return h('span', { class: `badge ${kind}`, title }, iconName ? icon(iconName) : null, text);
}

function typing(label, title) {
  return h('span', { class: 'typing', role: 'status', title },
    h('span', { class: 'dots', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')),
    h('span', { class: 'typing-label' }, label));
}

function buildMessage(m, ctx) {
  const isUser = m.role === 'user';
  const el = h('article', {
    class: `msg msg-${m.role}`,
    testid: 'message',
    'data-id': m.id,
    'data-role': m.role,
    'data-status': m.status,
  });
  const body = h('div', { class: 'msg-body' });
  if (!isUser) el.append(h('div', { class: 'msg-avatar', 'aria-hidden': 'true' }, icon('spark')));
  el.append(body);

  const badges = messageBadges(m);
  if (badges.length) body.append(h('div', { class: 'msg-badges' }, badges));

  let textNode = null;
  const editing = isUser && state.ui.editing === m.id;
  if (editing) {
    body.append(buildEditor(m));
  } else {
    const content = h('div', { class: 'msg-content', testid: 'message-content' });
    textNode = fillContent(content, m);
    body.append(isUser ? h('div', { class: 'msg-bubble' }, content) : content);
  }
  if (!isUser) {
    const note = statusNote(m, ctx);
    if (note) body.append(note);
  }
  if (!editing) {
    const footer = messageFooter(m, ctx);
    if (footer.childElementCount) body.append(footer);
  }
  if (!isUser && state.ui.fb && state.ui.fb.id === m.id) body.append(buildFeedbackPanel(m));
  if (!isUser && state.ui.report && state.ui.report.id === m.id) body.append(buildReportPanel(m));
  const report = !isUser && state.reports.get(m.id);
  if (report) {
    body.append(h('div', {
      class: `msg-note report-done report-${report.status}`, testid: 'report-done', role: 'status',
    }, icon(REPORT_ICONS[report.status] || 'flag'), report.outcome));
  }
  return { el, textNode };
}

// A report's state (chat/reports.py): waiting, or what a moderator decided.
const REPORT_ICONS = { open: 'flag', confirmed: 'shield', overturned: 'check' };

function messageBadges(m) {
  const badges = [];
  if (m.role === 'user' && (m.status === 'flagged' || m.flagged)) {
    badges.push(badge('Flagged', 'danger', 'Moderation flagged this message', 'flag'));
  }
  if (m.role !== 'user' && m.status === 'moderated') {
    badges.push(badge('Moderated', 'warn', 'Moderation replaced this answer', 'shield'));
  }
  return badges;
}

/** Fills a message's content element; returns the Text node that streaming
    text goes into, if any. */
function fillContent(content, m) {
  if (m.role === 'user') {
    content.textContent = m.content;
    return null;
  }
  if (ACTIVE.has(m.status)) {
    if (m._cp > 0 && !m._retracted) {
      content.classList.add('streaming');
      const textNode = document.createTextNode(m.content);
      content.append(h('span', { class: 'stream-text' }, textNode), h('span', { class: 'cursor', 'aria-hidden': 'true' }));
      return textNode;
    }
    content.classList.add('waiting');
    content.append(m.status === 'streaming' && m._held
      ? typing('checking…', 'The answer is being written; moderation checks it before it is shown')
      : typing(m.status === 'streaming' ? 'thinking…' : 'waiting…'));
  } else if (m.html) {
    content.classList.add('md');
    content.innerHTML = m.html; // sanitized on the server
    enhanceMarkdown(content);
  } else if (m.content) {
    content.classList.add('plain');
    content.textContent = m.content;
  }
  return null;
}

function statusNote(m, ctx) {
  if (m.status === 'complete' && m.finish_reason === 'length') {
    return h('div', { class: 'msg-note muted', testid: 'cut-off-note' },
      h('span', {}, 'Cut off at the length limit.'),
      ctx.isNewest && ctx.canRegen ? h('button', {
        type: 'button', class: 'btn small', testid: 'continue', title: 'Write on from where the answer stopped',
        onclick: () => continueAnswer(m),
      }, 'Continue') : null);
  }
  if (m.status === 'stopped') {
    return h('div', { class: 'msg-note muted' }, icon('stop'),
      m._cp ? 'Stopped' : 'Stopped before the answer started.');
  }
  if (m.status === 'interrupted' || m.status === 'failed') {
    const fallback = m.status === 'failed' ? 'Something went wrong while writing this answer.' : 'This answer was interrupted.';
    return h('div', { class: 'msg-note error', role: 'alert' },
      icon('alert'),
      h('span', { class: 'note-text' }, m.error || fallback),
      ctx.canRegen ? h('button', {
        type: 'button', class: 'btn small', testid: 'regenerate', title: 'Write a new answer',
        onclick: () => regenerate(m),
      }, icon('regen'), 'Regenerate') : null);
  }
  return null;
}

/** Branch switcher, actions, stats. */
function messageFooter(m, ctx) {
  const isUser = m.role === 'user';
  const footer = h('div', { class: 'msg-footer' });
  if (ctx.sibs.length > 1) {
    const i = ctx.index;
    footer.append(h('div', { class: 'branch-nav', role: 'group', 'aria-label': 'Versions' },
      iconBtn('left', 'Previous version', {
        testid: 'branch-prev', disabled: i <= 0, onclick: () => switchBranch(ctx.sibs[i - 1]),
      }),
      h('span', { class: 'branch-label', testid: 'branch-label' }, `${i + 1}/${ctx.sibs.length}`),
      iconBtn('right', 'Next version', {
        testid: 'branch-next', disabled: i >= ctx.sibs.length - 1, onclick: () => switchBranch(ctx.sibs[i + 1]),
      })));
  }
  const actions = h('div', { class: 'msg-actions' });
  if (isUser) {
    actions.append(
      iconBtn('copy', 'Copy message', { onclick: (e) => copyMessage(m, e.currentTarget) }),
      iconBtn('pencil', 'Edit message', { testid: 'edit-message', onclick: () => startEdit(m) }),
    );
  } else if (!ACTIVE.has(m.status)) {
    actions.append(...answerActions(m, ctx));
  }
  if (actions.childElementCount) footer.append(actions);
  if (!isUser && !ACTIVE.has(m.status)) {
    const stats = statsText(m);
    if (stats) footer.append(h('span', { class: 'msg-stats', title: stats }, stats));
  }
  return footer;
}

function answerActions(m, ctx) {
  const fb = state.feedback.get(m.id);
  const open = state.ui.fb && state.ui.fb.id === m.id ? state.ui.fb.rating : 0;
  const shown = open || (fb ? fb.rating : 0);
  const actions = [iconBtn('copy', 'Copy answer', { onclick: (e) => copyMessage(m, e.currentTarget) })];
  if (ctx.canRegen && m.status !== 'failed' && m.status !== 'interrupted') {
    actions.push(iconBtn('regen', 'Regenerate answer', { testid: 'regenerate', onclick: () => regenerate(m) }));
  }
  actions.push(
    iconBtn('up', 'Good answer', {
      testid: 'thumbs-up', pressed: shown === 1, cls: shown === 1 ? 'on' : '', onclick: () => rate(m, 1),
    }),
    iconBtn('down', 'Bad answer', {
      testid: 'thumbs-down', pressed: shown === -1, cls: shown === -1 ? 'on' : '', onclick: () => rate(m, -1),
    }),
  );
  // While a report waits for a moderator the answer cannot be reported again.
  const reported = (state.reports.get(m.id) || {}).status === 'open';
  const reporting = !!(state.ui.report && state.ui.report.id === m.id);
  actions.push(iconBtn('flag', reported ? 'Reported to the moderators' : 'Report answer', {
    testid: 'report-message', pressed: reporting || reported, cls: reporting || reported ? 'on' : '',
    disabled: reported, onclick: () => toggleReport(m),
  }));
  return actions;
}

function statsText(m) {
  const parts = [];
  if (m.model) parts.push(m.model);
  if (m.completion_tokens != null) parts.push(`${fmt(m.completion_tokens)} tokens`);
  if (m.tokens_per_second != null) parts.push(`${Number(m.tokens_per_second).toFixed(1)} tok/s`);
  if (m.ttft_ms != null) parts.push(`${Math.round(m.ttft_ms)} ms to first token`);
  return parts.join(' · ');
}

function flashCopied(btn) {
  const old = btn.firstChild;
  btn.replaceChildren(icon('check'));
  btn.classList.add('done');
  setTimeout(() => { btn.replaceChildren(old); btn.classList.remove('done'); }, 1500);
}

async function copyMessage(m, btn) {
  const ok = await copyText(m.content || '');
  if (ok) flashCopied(btn); else toast('Could not copy to the clipboard.', 'error');
}

/** Shows `m`'s new text: `appended` straight into its Text node, or the
    whole text (null), or a rebuild when the node is not there. */
export function streamUpdate(m, appended) {
  const entry = cache.get(m.id);
  if (entry && entry.textNode && entry.el.isConnected) {
    if (appended != null) entry.textNode.appendData(appended);
    else entry.textNode.data = m.content;
    maybeScroll();
  } else {
    renderThread();
  }
}

// ------------------------------------------------------------ scrolling

function atBottom() {
  const s = els.scroller;
  return s.scrollHeight - s.scrollTop - s.clientHeight < 64;
}

let scrollQueued = false;
function maybeScroll() {
  if (!state.follow || scrollQueued) return;
  scrollQueued = true;
  requestAnimationFrame(() => {
    scrollQueued = false;
    if (state.follow) els.scroller.scrollTop = els.scroller.scrollHeight;
    els.scrollDown.hidden = atBottom();
  });
}

export function scrollToBottom(smooth) {
  state.follow = true;
  els.scroller.scrollTo({ top: els.scroller.scrollHeight, behavior: smooth ? 'smooth' : 'auto' });
}

export function initScrolling() {
  els.scroller.addEventListener('scroll', () => {
    state.follow = atBottom();
    els.scrollDown.hidden = state.follow;
  }, { passive: true });
  els.scrollDown.addEventListener('click', () => scrollToBottom(true));
}
