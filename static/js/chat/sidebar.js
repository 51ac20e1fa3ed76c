/* The conversation list: search, rename in place, delete, grouped by how
   recently each was used; off-canvas under 820 px. */
import { $, h, iconBtn } from '../lib/dom.js';
import { api } from '../lib/http.js';
import { els, state, toast } from './page.js';
import { newChat, openConversation, setTitle } from './conversations.js';

let listToken = 0;
export async function loadList(q) {
  const token = ++listToken;
  try {
    const data = await api('GET', `/api/conversations/?q=${encodeURIComponent(q || '')}`);
    if (token !== listToken) return;
    state.list = data.conversations || [];
    renderSidebar();
  } catch (err) {
    if (token !== listToken) return;
    els.convList.replaceChildren(h('p', { class: 'conv-empty' }, err.message));
  }
}

/** Moves a conversation to the top, as just used. */
export function bumpConversation(id, title) {
  if (id == null) return;
  const i = state.list.findIndex((c) => c.id === id);
  if (i < 0) return;
  const row = Object.assign({}, state.list[i], { updated_at: new Date().toISOString() });
  if (title) row.title = title;
  if (i === 0 && state.list[0].title === row.title) { state.list[0] = row; return; }
  state.list.splice(i, 1);
  state.list.unshift(row);
  renderSidebar();
}

function groupLabel(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return 'Older';
  const now = new Date();
  const today = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const day = new Date(d.getFullYear(), d.getMonth(), d.getDate());
  const diff = Math.round((today - day) / 86400000);
  if (diff <= 0) return 'Today';
  if (diff === 1) return 'Yesterday';
  if (diff < 7) return 'Previous 7 days';
  if (diff < 30) return 'Previous 30 days';
  return d.toLocaleDateString(undefined, { month: 'long', year: 'numeric' });
}

export function renderSidebar() {
  const frag = document.createDocumentFragment();
  if (!state.list.length) {
    frag.append(h('p', { class: 'conv-empty' }, state.query ? 'No chats match your search.' : 'No chats yet. Say hello!'));
  }
  let group = null;
  let ul = null;
  for (const c of state.list) {
    const label = groupLabel(c.updated_at);
    if (label !== group) {
      group = label;
      ul = h('ul', { class: 'conv-group', 'aria-label': label });
      frag.append(h('h3', { class: 'conv-group-label' }, label), ul);
    }
    ul.append(state.renaming === c.id ? buildRenameItem(c) : buildConvItem(c));
  }
  els.convList.replaceChildren(frag);
  const input = $('.conv-rename', els.convList);
  if (input) { input.focus(); input.select(); }
}

function buildRenameItem(c) {
  const li = h('li', {
    class: 'conv-item' + (c.id === state.convId ? ' active' : '') + ' renaming',
    testid: 'conversation-item', 'data-id': c.id,
  });
  const input = h('input', { type: 'text', class: 'conv-rename', maxlength: '200', 'aria-label': 'New title' });
  input.value = c.title;
  let done = false;
  const finish = async (save) => {
    if (done) return;
    done = true;
    const title = input.value.trim();
    state.renaming = null;
    if (!save || !title || title === c.title) { renderSidebar(); return; }
    const old = c.title;
    c.title = title;
    renderSidebar();
    try {
      const { conversation } = await api('PATCH', `/api/conversations/${c.id}/`, { title });
      c.title = conversation.title;
      if (state.convId === c.id) setTitle(conversation.title);
      renderSidebar();
    } catch (err) {
      c.title = old;
      renderSidebar();
      toast(err.message, 'error');
    }
  };
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); finish(true); }
    else if (e.key === 'Escape') { e.preventDefault(); finish(false); }
  });
  input.addEventListener('blur', () => finish(true));
  li.append(input);
  return li;
}

function buildConvItem(c) {
  const active = c.id === state.convId;
  const li = h('li', {
    class: 'conv-item' + (active ? ' active' : ''),
    testid: 'conversation-item', 'data-id': c.id,
  });
  const link = h('a', {
    class: 'conv-link', href: `/c/${c.id}/`, title: c.title, 'aria-current': active ? 'page' : null,
  }, h('span', { class: 'conv-title' },
    c.imported ? h('span', { class: 'conv-badge', testid: 'conversation-imported', title: 'Imported from another app' }, 'Imported') : null,
    marked(c.title_match) || c.title),
  c.snippet ? h('span', { class: 'conv-snippet', testid: 'conversation-snippet' }, marked(c.snippet)) : null);
  li.append(link, h('div', { class: 'conv-actions' },
    iconBtn('pencil', 'Rename chat', {
      testid: 'rename-conversation',
      onclick: (e) => { e.stopPropagation(); state.renaming = c.id; renderSidebar(); },
    }),
    iconBtn('trash', 'Delete chat', {
      testid: 'delete-conversation', cls: 'danger',
      onclick: (e) => { e.stopPropagation(); deleteConversation(c); },
    })));
  li.addEventListener('click', (e) => {
    if (e.target.closest('.conv-actions')) return;
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    if (c.id !== state.convId) openConversation(c.id, true);
    else closeSidebarOnMobile();
  });
  return li;
}

/** A search result's {before, match, after} as text with the match in a
    <mark>; null without one. The parts are the user's text: only ever
    Text nodes. */
function marked(parts) {
  if (!parts) return null;
  return [parts.before, h('mark', {}, parts.match), parts.after];
}

async function deleteConversation(c) {
  if (!window.confirm(`Delete “${c.title}”? This cannot be undone.`)) return;
  try {
    await api('DELETE', `/api/conversations/${c.id}/`);
  } catch (err) {
    if (err.status !== 404) { toast(err.message, 'error'); return; }
  }
  state.list = state.list.filter((x) => x.id !== c.id);
  if (state.convId === c.id) newChat(true);
  else renderSidebar();
  toast('Chat deleted.');
}

const mobile = window.matchMedia('(max-width: 820px)');

export function closeSidebarOnMobile() {
  if (mobile.matches) setSidebarOpen(false);
}

function setSidebarOpen(open) {
  document.body.classList.toggle('sidebar-open', open);
  els.backdrop.hidden = !open;
  els.sidebarToggle.setAttribute('aria-expanded', String(open));
}

export function initSidebar() {
  let searchTimer = null;
  els.search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      state.query = els.search.value.trim();
      loadList(state.query);
    }, 250);
  });
  els.search.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && els.search.value) {
      els.search.value = '';
      state.query = '';
      loadList('');
    }
  });
  els.newChat.addEventListener('click', () => newChat(true));
  els.sidebarToggle.addEventListener('click', () => {
    if (mobile.matches) setSidebarOpen(!document.body.classList.contains('sidebar-open'));
    else {
      const collapsed = document.body.classList.toggle('sidebar-collapsed');
      els.sidebarToggle.setAttribute('aria-expanded', String(!collapsed));
    }
  });
  els.backdrop.addEventListener('click', () => setSidebarOpen(false));
}
