/* The chat page's elements, settings from the server, and its one state
   object; every chat module reads and writes this state.

   Safety rule: raw message text only ever reaches the DOM through
   textContent / Text nodes. The only HTML inserted is the server's
   sanitized `html` of a finished answer, and constant icon markup. */
import { $, h, icon, iconBtn, readJSON } from '../lib/dom.js';
import { mergeMessage, streamedMessage } from '../lib/stream.js';
import { toaster } from '../lib/toast.js';

const LIMITS = readJSON('chat-limits') || {};
export const INITIAL = readJSON('initial-data');
export const FEEDBACK_REASONS = readJSON('feedback-reasons') || { '1': [], '-1': [] };
export const MAX_CHARS = Number(LIMITS.max_message_chars) || 16000;
export const WARN_CHARS = Math.floor(MAX_CHARS * 0.9);
export const REPORT_MAX_CHARS = Number(LIMITS.report_max_chars) || 1000;
export const MAX_TOKENS_LIMIT = Number(LIMITS.max_new_tokens_limit) || 4096;
export const DEFAULTS = Object.assign(
  { system_prompt: '', temperature: 0.7, top_p: 0.9, max_new_tokens: 512 },
  LIMITS.generation_defaults || {},
);

export const els = {
  sidebar: $('#sidebar'),
  backdrop: $('#sidebar-backdrop'),
  sidebarToggle: $('#sidebar-toggle'),
  convList: $('#conv-list'),
  search: $('#conv-search'),
  newChat: $('#new-chat'),
  title: $('#chat-title'),
  exportGroup: $('#export-group'),
  exportJson: $('#export-json'),
  exportMd: $('#export-md'),
  settingsToggle: $('#settings-toggle'),
  settingsPanel: $('#settings-panel'),
  settingsClose: $('#settings-close'),
  settingsCancel: $('#settings-cancel'),
  settingsSave: $('#settings-save'),
  spSystem: $('#sp-system'),
  spTemp: $('#sp-temp'),
  spTempRange: $('#sp-temp-range'),
  spTopP: $('#sp-top-p'),
  spTopPRange: $('#sp-top-p-range'),
  spMax: $('#sp-max'),
  settingsNote: $('#settings-note'),
  settingsError: $('#settings-error'),
  scroller: $('#thread-scroll'),
  thread: $('#thread'),
  empty: $('#empty-state'),
  suggestions: $('#suggestions'),
  scrollDown: $('#scroll-down'),
  conn: $('#conn-banner'),
  error: $('#chat-error'),
  form: $('#composer-form'),
  composer: $('#composer'),
  counter: $('#counter'),
  send: $('#send-btn'),
  stop: $('#stop-btn'),
  toast: $('#toast'),
};

export const state = {
  convId: null,          // id of the open conversation, null on a new chat
  conv: null,            // its settings dict
  leaf: null,            // current_leaf id
  loading: false,        // the open conversation's messages are on their way
  messages: new Map(),   // id -> message dict (lib/stream.js adds _cp, _retracted, _refetch, _buffer, _lossy)
  feedback: new Map(),   // message id -> {rating, reasons, comment}
  reports: new Map(),    // answer id -> this user's report on it: {status, outcome} (chat/reports.py)
  pendingSettings: null, // settings for the first send of a new chat
  list: [],              // sidebar rows
  query: '',
  renaming: null,        // conversation id being renamed in the sidebar
  pending: new Map(),    // request_id -> {kind, content, newChat, nav}
  sending: false,
  follow: true,          // auto-scroll while streaming
  nav: 0,                // bumps on every conversation switch
  ui: {
    editing: null, editDraft: '', editFocus: false,
    fb: null,            // {id, rating, reasons:Set, comment}
    report: null,        // {id, reason, focus}: the open report panel
  },
  errorKind: '',         // what the error area shows: 'limit', 'conn', 'local', 'server' or ''
};

export const toast = toaster(els.toast);
export const fmt = (n) => Number(n).toLocaleString();

export function showError(text, kind = 'server') {
  state.errorKind = kind;
  els.error.replaceChildren(
    icon('alert'),
    h('span', { class: 'chat-error-text' }, text),
    iconBtn('x', 'Dismiss', { cls: 'chat-error-close', onclick: () => clearError() }),
  );
  els.error.hidden = false;
}

/** Clears the error area; with `kind`, only an error of that kind. */
export function clearError(kind) {
  if (kind && kind !== state.errorKind) return;
  state.errorKind = '';
  els.error.hidden = true;
  els.error.replaceChildren();
}

/** Adds or updates a message from the server; `stale` when it is older
    than the copy held. */
export function upsert(inc) {
  // Loaded messages carry this user's report on them; broadcasts say null.
  if (inc.report) state.reports.set(inc.id, inc.report);
  const m = state.messages.get(inc.id);
  if (!m) {
    const added = streamedMessage(inc);
    state.messages.set(added.id, added);
    return { m: added, isNew: true };
  }
  return { m, isNew: false, stale: !mergeMessage(m, inc) };
}
