/* Which conversation the page shows: opening one (from the sidebar, the
   URL or history), a new chat, reloading the open one after a reconnect,
   and the header that names it. */
import { api } from '../lib/http.js';
import { clearError, els, showError, state, toast, upsert } from './page.js';
import { clearThread, renderThread, scrollToBottom } from './render.js';
import { sendFrame } from './connection.js';
import { closeSidebarOnMobile, renderSidebar } from './sidebar.js';
import { renderModelPicker } from './model_picker.js';

/** Shows a conversation's detail (GET /api/conversations/<id>/);
    `replace` drops what was shown before, else it is merged in. */
export function loadDetail(detail, replace) {
  const c = detail.conversation;
  if (replace) {
    state.messages = new Map();
    state.feedback = new Map();
    clearThread();
  }
  state.conv = Object.assign(state.conv && !replace ? state.conv : {}, c);
  state.leaf = c.current_leaf;
  // The title may have changed meanwhile (moderation takes back one it flagged).
  const row = state.list.find((r) => r.id === c.id);
  if (row && row.title !== c.title) { row.title = c.title; renderSidebar(); }
  for (const msg of detail.messages || []) upsert(msg);
  for (const [id, fb] of Object.entries(detail.feedback || {})) state.feedback.set(Number(id), fb);
  updateHeader();
  renderThread();
}

export async function resync() {
  const id = state.convId;
  if (id == null) return;
  try {
    const detail = await api('GET', `/api/conversations/${id}/`);
    if (state.convId !== id) return;
    loadDetail(detail, false);
  } catch (err) {
    if (state.convId !== id) return;
    if (err.status === 404) {
      toast('That conversation no longer exists.', 'error');
      newChat(true);
    }
  }
}

function resetThread() {
  state.messages = new Map();
  state.feedback = new Map();
  state.leaf = null;
  state.ui.editing = null;
  state.ui.fb = null;
  state.ui.report = null;
  state.follow = true;
  clearThread();
  clearError();
}

export async function openConversation(id, push) {
  if (push) history.pushState({ conv: id }, '', `/c/${id}/`);
  const nav = ++state.nav;
  resetThread();
  state.convId = id;
  const row = state.list.find((c) => c.id === id);
  state.conv = { id, title: row ? row.title : 'Loading…' };
  state.loading = true;
  updateHeader();
  renderSidebar();
  renderThread();
  closeSidebarOnMobile();
  sendFrame({ type: 'subscribe', conversation: id });
  try {
    const detail = await api('GET', `/api/conversations/${id}/`);
    if (nav !== state.nav) return;
    state.loading = false;
    loadDetail(detail, true);
    scrollToBottom(false);
  } catch (err) {
    if (nav !== state.nav) return;
    state.loading = false;
    renderThread();
    if (err.status === 404) {
      toast('That conversation no longer exists.', 'error');
      newChat(true);
    } else {
      showError(err.message);
    }
  }
}

export function newChat(push) {
  if (push && location.pathname !== '/') history.pushState({ conv: null }, '', '/');
  state.nav++;
  resetThread();
  state.convId = null;
  state.conv = null;
  state.loading = false;
  updateHeader();
  renderSidebar();
  renderThread();
  closeSidebarOnMobile();
  els.composer.focus();
}

export function setTitle(title) {
  if (state.conv) state.conv.title = title;
  updateHeader();
}

export function updateHeader() {
  const title = state.conv && state.conv.title ? state.conv.title : 'New chat';
  els.title.textContent = title;
  document.title = `${title} · Chatsite`;
  const id = state.convId;
  els.exportGroup.hidden = id == null;
  renderModelPicker();
  if (id != null) {
    els.exportJson.href = `/c/${id}/export.json`;
    els.exportMd.href = `/c/${id}/export.md`;
  }
}

export function initHistory() {
  window.addEventListener('popstate', () => {
    const m = /^\/c\/(\d+)\/?$/.exec(location.pathname);
    if (m) openConversation(Number(m[1]), false);
    else newChat(false);
  });
}
