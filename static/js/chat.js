/* Chat page: sidebar, message tree, streaming over the chat WebSocket.
 *
 * Safety rule: raw message text only ever reaches the DOM through
 * textContent / Text nodes. The only HTML inserted is the server's
 * sanitized `html` of a finished answer, and constant icon markup.
 */
(() => {
  'use strict';

  // ---------------------------------------------------------------- setup

  const $ = (sel, root = document) => root.querySelector(sel);

  function readJSON(id) {
    const el = document.getElementById(id);
    if (!el) return null;
    try { return JSON.parse(el.textContent); } catch { return null; }
  }

  const initial = readJSON('initial-data');
  const FEEDBACK_REASONS = readJSON('feedback-reasons') || { '1': [], '-1': [] };
  const LIMITS = readJSON('chat-limits') || {};
  const MAX_CHARS = Number(LIMITS.max_message_chars) || 16000;
  const WARN_CHARS = Math.floor(MAX_CHARS * 0.9);
  const REPORT_MAX_CHARS = Number(LIMITS.report_max_chars) || 1000;
  const MAX_TOKENS_LIMIT = Number(LIMITS.max_new_tokens_limit) || 4096;
  const DEFAULTS = Object.assign(
    { system_prompt: '', temperature: 0.7, top_p: 0.9, max_new_tokens: 512 },
    LIMITS.generation_defaults || {},
  );
  const PING_MS = 25000;
  // Close codes (core/user_sockets.py): the account changed, so
  // reconnect at once and let the handshake decide again; too many sockets
  // or frames, so wait this long and say why.
  const ACCOUNT_CHANGED = 4001;
  const TOO_MANY = 4429;
  const TOO_MANY_RETRY_MS = 60000;
  const SENT_TIMEOUT_MS = 20000;
  const ACTIVE = new Set(['pending', 'queued', 'streaming']);

  const els = {
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

  const state = {
    convId: null,          // id of the open conversation, null on a new chat
    conv: null,            // its settings dict
    leaf: null,            // current_leaf id
    messages: new Map(),   // id -> message dict (+ _cp, _retracted, _refetch, _buffer)
    feedback: new Map(),   // message id -> {rating, reasons, comment}
    reported: new Set(),   // answers this page reported to the moderators
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
  };

  const cache = new Map(); // message id -> {el, sig, textNode}
  let seq = 0;
  let errorKind = '';

  // --------------------------------------------------------------- helpers

  const SVGNS = 'http://www.w3.org/2000/svg';
  const ICONS = {
    copy: '<rect x="9" y="9" width="12" height="12" rx="2"/><path d="M5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1"/>',
    check: '<path d="M20 6 9 17l-5-5"/>',
    regen: '<path d="M3 12a9 9 0 1 0 9-9 9.75 9.75 0 0 0-6.74 2.74L3 8"/><path d="M3 3v5h5"/>',
    up: '<path d="M7 10v12"/><path d="M15 5.88 14 10h5.83a2 2 0 0 1 1.92 2.56l-2.33 8A2 2 0 0 1 17.5 22H4a2 2 0 0 1-2-2v-8a2 2 0 0 1 2-2h2.76a2 2 0 0 0 1.79-1.11L12 2a3.13 3.13 0 0 1 3 3.88Z"/>',
    down: '<path d="M17 14V2"/><path d="M9 18.12 10 14H4.17a2 2 0 0 1-1.92-2.56l2.33-8A2 2 0 0 1 6.5 2H20a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2h-2.76a2 2 0 0 0-1.79 1.11L12 22a3.13 3.13 0 0 1-3-3.88Z"/>',
    pencil: '<path d="M12 20h9"/><path d="M16.5 3.5a2.12 2.12 0 0 1 3 3L7 19l-4 1 1-4Z"/>',
    trash: '<path d="M3 6h18"/><path d="M19 6v14a2 2 0 0 1-2 2H7a2 2 0 0 1-2-2V6"/><path d="M8 6V4a2 2 0 0 1 2-2h4a2 2 0 0 1 2 2v2"/>',
    left: '<path d="m15 18-6-6 6-6"/>',
    right: '<path d="m9 18 6-6-6-6"/>',
    x: '<path d="M18 6 6 18M6 6l12 12"/>',
    alert: '<circle cx="12" cy="12" r="9"/><path d="M12 8v4.5M12 16h.01"/>',
    spark: '<path d="M12 2.5l2.2 6.3 6.3 2.2-6.3 2.2L12 19.5l-2.2-6.3L3.5 11l6.3-2.2Z"/>',
    stop: '<rect x="6" y="6" width="12" height="12" rx="2"/>',
    shield: '<path d="M12 22s8-4 8-10V5l-8-3-8 3v7c0 6 8 10 8 10Z"/>',
    flag: '<path d="M4 15s1-1 4-1 5 2 8 2 4-1 4-1V3s-1 1-4 1-5-2-8-2-4 1-4 1z"/><path d="M4 22v-7"/>',
  };

  function icon(name) {
    const svg = document.createElementNS(SVGNS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('class', 'icon');
    svg.setAttribute('aria-hidden', 'true');
    svg.innerHTML = ICONS[name] || ''; // constant markup only
    return svg;
  }

  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v == null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'testid') el.setAttribute('data-testid', v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
    for (const c of children.flat()) {
      if (c == null || c === false) continue;
      el.append(c instanceof Node ? c : String(c));
    }
    return el;
  }

  function iconBtn(name, label, opts = {}) {
    return h('button', {
      type: 'button',
      class: 'icon-btn' + (opts.cls ? ' ' + opts.cls : ''),
      'aria-label': label,
      title: opts.title || label,
      testid: opts.testid,
      'aria-pressed': opts.pressed == null ? null : String(!!opts.pressed),
      disabled: opts.disabled,
      onclick: opts.onclick,
    }, icon(name));
  }

  /** Length in Unicode code points, as Python's len() counts. */
  function cpLen(s) {
    if (!s) return 0;
    const pairs = s.match(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g);
    return s.length - (pairs ? pairs.length : 0);
  }

  /** `s` without its first `n` code points. */
  function cpSkip(s, n) {
    let i = 0;
    for (let c = 0; c < n && i < s.length; c++) {
      const code = s.charCodeAt(i);
      i += code >= 0xd800 && code <= 0xdbff && i + 1 < s.length ? 2 : 1;
    }
    return s.slice(i);
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const fmt = (n) => Number(n).toLocaleString();

  function csrfToken() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    const input = $('input[name=csrfmiddlewaretoken]');
    return input ? input.value : '';
  }

  async function api(method, url, body) {
    const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (method !== 'GET') opts.headers['X-CSRFToken'] = csrfToken();
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    const res = await fetch(url, opts);
    let data = null;
    try { data = await res.json(); } catch { /* not JSON */ }
    if (!res.ok) {
      const err = new Error((data && data.error) || `The request failed (${res.status}).`);
      err.status = res.status;
      if (res.status === 401) sessionEnded();
      throw err;
    }
    return data;
  }

  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      const ta = h('textarea', { class: 'visually-hidden', 'aria-hidden': 'true' });
      ta.value = text;
      document.body.append(ta);
      ta.select();
      let ok = false;
      try { ok = document.execCommand('copy'); } catch { ok = false; }
      ta.remove();
      return ok;
    }
  }

  function flashCopied(btn) {
    const old = btn.firstChild;
    btn.replaceChildren(icon('check'));
    btn.classList.add('done');
    setTimeout(() => { btn.replaceChildren(old); btn.classList.remove('done'); }, 1500);
  }

  let toastTimer = null;
  function toast(text, kind = '') {
    const t = h('div', { class: 'toast' + (kind ? ' ' + kind : '') }, text);
    els.toast.replaceChildren(t);
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => t.classList.add('leaving'), 2600);
    setTimeout(() => { if (t.isConnected) t.remove(); }, 3000);
  }

  // ----------------------------------------------------------- error area

  function showError(text, kind = 'server') {
    errorKind = kind;
    els.error.replaceChildren(
      icon('alert'),
      h('span', { class: 'chat-error-text' }, text),
      iconBtn('x', 'Dismiss', { cls: 'chat-error-close', onclick: () => clearError() }),
    );
    els.error.hidden = false;
  }

  function clearError(kind) {
    if (kind && kind !== errorKind) return;
    errorKind = '';
    els.error.hidden = true;
    els.error.replaceChildren();
  }

  // ------------------------------------------------------------ messages

  function upsert(inc) {
    let m = state.messages.get(inc.id);
    if (!m) {
      m = Object.assign({}, inc, { _cp: cpLen(inc.content || '') });
      state.messages.set(m.id, m);
      return { m, isNew: true };
    }
    const rank = (s) => (s === 'queued' || s === 'pending' ? 0 : s === 'streaming' ? 1 : 2);
    if (rank(inc.status) < rank(m.status)) return { m, isNew: false, stale: true };
    if (rank(inc.status) < 2) {
      // Still going: keep the longer text, ours comes from the deltas.
      const incCp = cpLen(inc.content || '');
      const keepOurs = m._retracted || m._cp >= incCp;
      const content = m.content;
      Object.assign(m, inc);
      if (keepOurs) m.content = content; else m._cp = incCp;
    } else {
      Object.assign(m, inc);
      m._cp = cpLen(m.content || '');
      m._retracted = false;
      m._refetch = false;
      m._buffer = [];
    }
    return { m, isNew: false };
  }

  function buildIndex() {
    const byParent = new Map();
    for (const m of state.messages.values()) {
      const k = m.parent == null ? 0 : m.parent;
      if (!byParent.has(k)) byParent.set(k, []);
      byParent.get(k).push(m);
    }
    for (const arr of byParent.values()) arr.sort((a, b) => a.id - b.id);
    return byParent;
  }

  function newestLeaf(m, idx) {
    let node = m;
    for (;;) {
      const kids = idx.get(node.id);
      if (!kids || !kids.length) return node;
      node = kids[kids.length - 1];
    }
  }

  function currentPath(idx) {
    let leaf = state.leaf != null ? state.messages.get(state.leaf) : null;
    if (!leaf) {
      const roots = idx.get(0);
      if (!roots || !roots.length) return [];
      leaf = newestLeaf(roots[roots.length - 1], idx);
    }
    const path = [];
    const seen = new Set();
    let node = leaf;
    while (node && !seen.has(node.id)) {
      seen.add(node.id);
      path.push(node);
      node = node.parent != null ? state.messages.get(node.parent) : null;
    }
    return path.reverse();
  }

  function siblingsOf(m, idx) {
    return (idx.get(m.parent == null ? 0 : m.parent) || []).filter((x) => x.role === m.role);
  }

  function activeAnswer() {
    const idx = buildIndex();
    const onPath = currentPath(idx).filter((m) => m.role === 'assistant' && ACTIVE.has(m.status));
    if (onPath.length) return onPath[onPath.length - 1];
    let best = null;
    for (const m of state.messages.values()) {
      if (m.role === 'assistant' && ACTIVE.has(m.status) && (!best || m.id > best.id)) best = m;
    }
    return best;
  }

  // ------------------------------------------------------------ rendering

  function renderThread() {
    const idx = buildIndex();
    const path = currentPath(idx);
    const wanted = [];
    const keep = new Set();
    for (const m of path) {
      const sibs = siblingsOf(m, idx);
      const parentMsg = m.parent != null ? state.messages.get(m.parent) : null;
      const ctx = {
        sibs,
        index: sibs.findIndex((s) => s.id === m.id),
        canRegen: m.role === 'assistant' && !!parentMsg && parentMsg.status === 'accepted',
      };
      const sig = messageSig(m, ctx);
      let entry = cache.get(m.id);
      if (!entry || entry.sig !== sig) {
        const built = buildMessage(m, ctx, idx);
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

    els.empty.hidden = path.length > 0 || state.loading === true;
    els.thread.classList.toggle('loading', state.loading === true);
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
      ? `${m._retracted ? 'R' : ''}${m._cp > 0 ? 'T' : ''}`
      : `${(m.html || '').length}:${m._cp}`;
    return [
      m.status, m.error, m.flagged, m.model, m.completion_tokens, m.tokens_per_second, m.ttft_ms,
      body, ctx.index, ctx.sibs.length, ctx.canRegen,
      // While the panel is open a save must not rebuild it under the pointer.
      ui.fb && ui.fb.id === m.id ? `panel${ui.fb.rating}` : `saved${fb ? fb.rating : 0}`,
      ui.report && ui.report.id === m.id ? 'report' : state.reported.has(m.id) ? 'reported' : '',
      ui.editing === m.id,
    ].join('|');
  }

  function badge(text, kind, title, iconName) {
    return h('span', { class: `badge ${kind}`, title }, iconName ? icon(iconName) : null, text);
  }

  function typing(label) {
    return h('span', { class: 'typing', role: 'status' },
      h('span', { class: 'dots', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')),
      h('span', { class: 'typing-label' }, label));
  }

  function buildMessage(m, ctx, idx) {
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

    // Badges
    const badges = [];
    if (isUser && (m.status === 'flagged' || m.flagged)) {
      badges.push(badge('Flagged', 'danger', 'Moderation flagged this message', 'flag'));
    }
    if (!isUser && m.status === 'moderated') {
      badges.push(badge('Moderated', 'warn', 'Moderation replaced this answer', 'shield'));
    }
    if (badges.length) body.append(h('div', { class: 'msg-badges' }, badges));

    // Content
    const content = h('div', { class: 'msg-content', testid: 'message-content' });
    let textNode = null;
    const editing = isUser && state.ui.editing === m.id;
    if (isUser) {
      if (editing) {
        body.append(buildEditor(m));
      } else {
        content.textContent = m.content;
        body.append(h('div', { class: 'msg-bubble' }, content));
      }
    } else {
      if (ACTIVE.has(m.status)) {
        if (m._cp > 0 && !m._retracted) {
          content.classList.add('streaming');
          textNode = document.createTextNode(m.content);
          content.append(h('span', { class: 'stream-text' }, textNode), h('span', { class: 'cursor', 'aria-hidden': 'true' }));
        } else {
          content.classList.add('waiting');
          content.append(typing(m.status === 'streaming' ? 'thinking…' : 'waiting…'));
        }
      } else if (m.html) {
        content.classList.add('md');
        content.innerHTML = m.html; // sanitized on the server
        enhanceMarkdown(content);
      } else if (m.content) {
        content.classList.add('plain');
        content.textContent = m.content;
      }
      body.append(content);
    }

    // Status notes
    if (!isUser) {
      if (m.status === 'stopped') {
        body.append(h('div', { class: 'msg-note muted' }, icon('stop'),
          m._cp ? 'Stopped' : 'Stopped before the answer started.'));
      } else if (m.status === 'interrupted' || m.status === 'failed') {
        const fallback = m.status === 'failed' ? 'Something went wrong while writing this answer.' : 'This answer was interrupted.';
        body.append(h('div', { class: 'msg-note error', role: 'alert' },
          icon('alert'),
          h('span', { class: 'note-text' }, m.error || fallback),
          ctx.canRegen ? h('button', {
            type: 'button', class: 'btn small', testid: 'regenerate', title: 'Write a new answer',
            onclick: () => regenerate(m),
          }, icon('regen'), 'Regenerate') : null));
      }
    }

    // Footer: branch switcher, actions, stats
    if (!editing) {
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
        const fb = state.feedback.get(m.id);
        const open = state.ui.fb && state.ui.fb.id === m.id ? state.ui.fb.rating : 0;
        const shown = open || (fb ? fb.rating : 0);
        actions.append(iconBtn('copy', 'Copy answer', { onclick: (e) => copyMessage(m, e.currentTarget) }));
        if (ctx.canRegen && m.status !== 'failed' && m.status !== 'interrupted') {
          actions.append(iconBtn('regen', 'Regenerate answer', { testid: 'regenerate', onclick: () => regenerate(m) }));
        }
        actions.append(
          iconBtn('up', 'Good answer', {
            testid: 'thumbs-up', pressed: shown === 1, cls: shown === 1 ? 'on' : '', onclick: () => rate(m, 1),
          }),
          iconBtn('down', 'Bad answer', {
            testid: 'thumbs-down', pressed: shown === -1, cls: shown === -1 ? 'on' : '', onclick: () => rate(m, -1),
          }),
        );
        const reported = state.reported.has(m.id);
        const reporting = !!(state.ui.report && state.ui.report.id === m.id);
        actions.append(iconBtn('flag', reported ? 'Reported to the moderators' : 'Report answer', {
          testid: 'report-message', pressed: reporting || reported, cls: reporting || reported ? 'on' : '',
          disabled: reported, onclick: () => toggleReport(m),
        }));
      }
      if (actions.childElementCount) footer.append(actions);
      if (!isUser && !ACTIVE.has(m.status)) {
        const stats = statsText(m);
        if (stats) footer.append(h('span', { class: 'msg-stats', title: stats }, stats));
      }
      if (footer.childElementCount) body.append(footer);
    }

    if (!isUser && state.ui.fb && state.ui.fb.id === m.id) body.append(buildFeedbackPanel(m));
    if (!isUser && state.ui.report && state.ui.report.id === m.id) body.append(buildReportPanel(m));
    if (!isUser && state.reported.has(m.id)) {
      body.append(h('div', { class: 'msg-note report-done', testid: 'report-done', role: 'status' },
        icon('check'), 'Reported. A moderator will review this answer.'));
    }
    return { el, textNode };
  }

  function statsText(m) {
    const parts = [];
    if (m.model) parts.push(m.model);
    if (m.completion_tokens != null) parts.push(`${fmt(m.completion_tokens)} tokens`);
    if (m.tokens_per_second != null) parts.push(`${Number(m.tokens_per_second).toFixed(1)} tok/s`);
    if (m.ttft_ms != null) parts.push(`${Math.round(m.ttft_ms)} ms to first token`);
    return parts.join(' · ');
  }

  function enhanceMarkdown(root) {
    for (const pre of root.querySelectorAll('pre')) {
      const code = pre.querySelector('code');
      const match = code && /(?:^|\s)language-([\w+#.-]+)/.exec(code.className);
      const lang = match ? match[1] : '';
      // No <svg> inside message content: the icon is a CSS mask.
      const copyBtn = h('button', { type: 'button', class: 'code-copy', 'aria-label': 'Copy code', title: 'Copy code' },
        h('span', {}, 'Copy'));
      copyBtn.addEventListener('click', async () => {
        const ok = await copyText((code || pre).textContent);
        copyBtn.lastChild.textContent = ok ? 'Copied' : 'Copy failed';
        setTimeout(() => { copyBtn.lastChild.textContent = 'Copy'; }, 1500);
      });
      const block = h('div', { class: 'code-block' });
      pre.replaceWith(block);
      block.append(h('div', { class: 'code-head' }, h('span', { class: 'code-lang' }, lang || 'code'), copyBtn), pre);
    }
    for (const table of root.querySelectorAll('table')) {
      const wrap = h('div', { class: 'table-wrap' });
      table.replaceWith(wrap);
      wrap.append(table);
    }
    for (const a of root.querySelectorAll('a[href]')) {
      a.target = '_blank';
      a.rel = 'noopener noreferrer nofollow';
    }
  }

  async function copyMessage(m, btn) {
    const ok = await copyText(m.content || '');
    if (ok) flashCopied(btn); else toast('Could not copy to the clipboard.', 'error');
  }

  // Streaming text goes straight into the bubble's Text node.
  function streamUpdate(m, appended) {
    const entry = cache.get(m.id);
    if (entry && entry.textNode && entry.el.isConnected) {
      if (appended != null) entry.textNode.appendData(appended);
      else entry.textNode.data = m.content;
      maybeScroll();
    } else {
      renderThread();
    }
  }

  // ------------------------------------------------------------ editing

  function buildEditor(m) {
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

  function startEdit(m) {
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
    if (activeAnswer()) { showError('Wait for the current answer to finish, or stop it first.', 'local'); return; }
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

  function rate(m, rating) {
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

  function buildFeedbackPanel(m) {
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

  function toggleReport(m) {
    const open = state.ui.report && state.ui.report.id === m.id;
    state.ui.report = open ? null : { id: m.id, reason: '', focus: true };
    if (!open) state.ui.fb = null; // one panel at a time under an answer
    renderThread();
  }

  function buildReportPanel(m) {
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
        await api('POST', `/api/messages/${m.id}/report/`, { reason: report.reason });
        state.reported.add(m.id);
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

  async function switchBranch(target) {
    if (!target) return;
    const idx = buildIndex();
    state.leaf = newestLeaf(target, idx).id;
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

  function scrollToBottom(smooth) {
    state.follow = true;
    els.scroller.scrollTo({ top: els.scroller.scrollHeight, behavior: smooth ? 'smooth' : 'auto' });
  }

  els.scroller.addEventListener('scroll', () => {
    state.follow = atBottom();
    els.scrollDown.hidden = state.follow;
  }, { passive: true });
  els.scrollDown.addEventListener('click', () => scrollToBottom(true));

  // ------------------------------------------------------------ composer

  function autosize(ta, max) {
    ta.style.height = 'auto';
    ta.style.height = Math.min(ta.scrollHeight + 2, max) + 'px';
    ta.style.overflowY = ta.scrollHeight > max ? 'auto' : 'hidden';
  }

  function limitMessage(n) {
    return `Your message is ${fmt(n)} characters long; the limit is ${fmt(MAX_CHARS)}. Shorten it by ${fmt(n - MAX_CHARS)} to send.`;
  }

  function updateComposer() {
    const act = activeAnswer();
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
      if (errorKind !== 'limit' || els.error.textContent !== limitMessage(n)) showError(limitMessage(n), 'limit');
    } else {
      clearError('limit');
    }
  }

  function lastAssistantOnPath() {
    const path = currentPath(buildIndex());
    for (let i = path.length - 1; i >= 0; i--) if (path[i].role === 'assistant') return path[i].id;
    return null;
  }

  function submitComposer() {
    const text = els.composer.value;
    if (!text.trim()) return;
    const n = cpLen(text);
    if (n > MAX_CHARS) { showError(limitMessage(n), 'limit'); return; }
    if (state.sending) return;
    if (activeAnswer()) { showError('Wait for the current answer to finish, or stop it first.', 'local'); return; }
    if (sendMessage(text, lastAssistantOnPath(), 'send')) {
      els.composer.value = '';
      autosize(els.composer, composerMax());
      updateComposer();
    }
  }

  function composerMax() {
    return Math.max(120, Math.round(window.innerHeight * 0.3));
  }

  function sendMessage(text, parent, kind) {
    clearError();
    const request_id = `r${Date.now().toString(36)}${++seq}`;
    const frame = { type: 'send', request_id, conversation: state.convId, parent, content: text };
    if (state.convId == null && state.pendingSettings) frame.settings = state.pendingSettings;
    if (!sendFrame(frame)) {
      showError('Not connected to the server. Reconnecting…', 'conn');
      return false;
    }
    state.pending.set(request_id, { kind, content: text, newChat: state.convId == null, nav: state.nav });
    state.sending = true;
    state.follow = true;
    updateComposer();
    setTimeout(() => {
      if (!state.pending.has(request_id)) return;
      state.pending.delete(request_id);
      state.sending = state.pending.size > 0;
      showError('The server did not confirm your message. Check the conversation and try again.');
      updateComposer();
    }, SENT_TIMEOUT_MS);
    return true;
  }

  function regenerate(m) {
    if (activeAnswer()) { showError('Wait for the current answer to finish, or stop it first.', 'local'); return; }
    clearError();
    const request_id = `r${Date.now().toString(36)}${++seq}`;
    if (!sendFrame({ type: 'regenerate', request_id, message: m.id })) {
      showError('Not connected to the server. Reconnecting…', 'conn');
      return;
    }
    state.pending.set(request_id, { kind: 'regenerate', nav: state.nav });
    state.ui.fb = null;
    state.follow = true;
  }

  function stopAnswer() {
    const act = activeAnswer();
    if (!act) return;
    if (!sendFrame({ type: 'stop', message: act.id })) showError('Not connected to the server. Reconnecting…', 'conn');
  }

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

  // ------------------------------------------------------------ socket

  const conn = { ws: null, retry: 0, timer: null, ping: null, dead: false, opened: false };

  function wsURL() {
    return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/chat/`;
  }

  function sendFrame(frame) {
    if (!conn.ws || conn.ws.readyState !== WebSocket.OPEN) return false;
    conn.ws.send(JSON.stringify(frame));
    return true;
  }

  function setConn(text, action) {
    if (!text) { els.conn.hidden = true; els.conn.replaceChildren(); return; }
    els.conn.replaceChildren(h('span', { class: 'conn-dot', 'aria-hidden': 'true' }), h('span', {}, text), action || null);
    els.conn.hidden = false;
  }

  function connect() {
    if (conn.dead) return;
    clearTimeout(conn.timer);
    let ws;
    try { ws = new WebSocket(wsURL()); } catch { scheduleReconnect(false); return; }
    conn.ws = ws;
    let opened = false;
    ws.addEventListener('open', () => {
      opened = true;
      conn.retry = 0;
      setConn('');
      clearError('conn');
      clearInterval(conn.ping);
      conn.ping = setInterval(() => sendFrame({ type: 'ping' }), PING_MS);
      const again = conn.opened;
      conn.opened = true;
      if (state.convId != null) {
        sendFrame({ type: 'subscribe', conversation: state.convId });
        resync();
      }
      if (again) loadList(state.query);
    });
    ws.addEventListener('message', (e) => {
      let frame;
      try { frame = JSON.parse(e.data); } catch { return; }
      if (frame && typeof frame === 'object') handleFrame(frame);
    });
    ws.addEventListener('close', (e) => {
      if (conn.ws !== ws) return;
      conn.ws = null;
      clearInterval(conn.ping);
      dropPending();
      if (e.code === 4401) { sessionEnded(); return; }
      if (e.code === TOO_MANY) { scheduleReconnect(true, e.reason || 'Too many connections.'); return; }
      if (e.code === ACCOUNT_CHANGED) conn.retry = 0;
      scheduleReconnect(opened || e.code === ACCOUNT_CHANGED);
    });
  }

  function scheduleReconnect(wasOpen, refusal) {
    if (conn.dead) return;
    const wait = refusal ? TOO_MANY_RETRY_MS : Math.min(30000, 1000 * 2 ** Math.min(conn.retry, 5));
    const delay = wait * (0.8 + Math.random() * 0.4);
    conn.retry += 1;
    const retryNow = h('button', { type: 'button', class: 'link', onclick: () => connect() }, 'Retry now');
    const seconds = Math.max(1, Math.round(delay / 1000));
    setConn(`${refusal || 'Connection lost.'} Reconnecting in ${seconds} s…`, retryNow);
    conn.timer = setTimeout(connect, delay);
    if (!wasOpen) {
      // A refused handshake looks like any network error: ask HTTP whether
      // the session is still good.
      fetch('/api/conversations/?q=', { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then((r) => { if (r.status === 401 || r.status === 403 || r.redirected) sessionEnded(); })
        .catch(() => {});
    }
  }

  function sessionEnded() {
    if (conn.dead) return;
    conn.dead = true;
    clearTimeout(conn.timer);
    clearInterval(conn.ping);
    if (conn.ws) { try { conn.ws.close(); } catch { /* closing anyway */ } }
    const next = encodeURIComponent(location.pathname);
    setConn('Your session has ended. Please log in again.',
      h('a', { class: 'link', href: `/accounts/login/?next=${next}` }, 'Log in'));
    els.conn.classList.add('dead');
  }

  function dropPending() {
    if (!state.pending.size) return;
    for (const req of state.pending.values()) {
      if (req.kind === 'send' && !els.composer.value) {
        els.composer.value = req.content;
        autosize(els.composer, composerMax());
      }
    }
    state.pending.clear();
    state.sending = false;
    showError('The connection dropped before the server confirmed your message. It may not have been sent.', 'conn');
    updateComposer();
  }

  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && !conn.ws && !conn.dead) connect();
  });
  window.addEventListener('online', () => { if (!conn.ws && !conn.dead) connect(); });

  // ------------------------------------------------------------ frames

  function handleFrame(f) {
    switch (f.type) {
      case 'message': onMessageFrame(f.message); break;
      case 'delta': onDelta(f); break;
      case 'retract': onRetract(f.message_id); break;
      case 'sent': onSent(f); break;
      case 'error': onErrorFrame(f); break;
      default: break; // subscribed, pong
    }
  }

  function onMessageFrame(msg) {
    if (!msg || msg.conversation !== state.convId || state.convId == null) return;
    const { m, isNew, stale } = upsert(msg);
    if (stale) return;
    if (isNew && (m.parent == null ? null : m.parent) === state.leaf && state.leaf != null) state.leaf = m.id;
    if (!ACTIVE.has(m.status) && m.role === 'assistant') bumpConversation(state.convId);
    renderThread();
  }

  function onDelta(f) {
    const m = state.messages.get(f.message_id);
    if (!m) {
      if (state.convId != null) fetchUnknown(f.message_id);
      return;
    }
    if (!ACTIVE.has(m.status) || m.role !== 'assistant') return;
    if (m._refetch) { m._buffer.push(f); return; }
    if (f.offset > m._cp && !m._lossy) { refetchGap(m, f); return; }
    applyDelta(m, f);
  }

  function applyDelta(m, f) {
    let text = f.text || '';
    if (f.offset < m._cp) text = cpSkip(text, m._cp - f.offset);
    if (!text) return;
    const wasEmpty = m._cp === 0;
    m.content += text;
    m._cp += cpLen(text);
    m._retracted = false;
    if (m.status === 'queued' || wasEmpty) {
      if (m.status === 'queued') m.status = 'streaming';
      renderThread();
    } else {
      streamUpdate(m, text);
    }
  }

  const unknownSeen = new Set();
  async function fetchUnknown(id) {
    if (unknownSeen.has(id)) return;
    unknownSeen.add(id);
    const nav = state.nav;
    try {
      const { message } = await api('GET', `/api/messages/${id}/`);
      if (nav !== state.nav) return;
      onMessageFrame(message);
    } catch { /* another conversation's, or gone */ }
  }

  /** A delta skipped ahead: fetch the saved text, then replay what queued up. */
  async function refetchGap(m, first) {
    m._refetch = true;
    m._buffer = [first];
    for (let tries = 0; ; tries++) {
      try {
        const { message } = await api('GET', `/api/messages/${m.id}/`);
        if (state.messages.get(m.id) !== m) return;
        if (!ACTIVE.has(message.status)) {
          upsert(message);
          renderThread();
          return;
        }
        const cp = cpLen(message.content || '');
        if (cp > m._cp && !m._retracted) { m.content = message.content; m._cp = cp; }
      } catch {
        if (state.messages.get(m.id) !== m) return;
      }
      if (!m._refetch) return; // a final frame arrived meanwhile
      const queued = m._buffer.sort((a, b) => a.offset - b.offset);
      m._buffer = [];
      let gap = false;
      for (const d of queued) {
        if (gap || d.offset > m._cp) { gap = true; m._buffer.push(d); } else applyDeltaQuiet(m, d);
      }
      if (!gap || tries >= 4) {
        if (gap) {
          // Still missing text: show what we have; the final frame carries all of it.
          m._lossy = true;
          for (const d of m._buffer) { m.content += d.text; m._cp = d.offset + cpLen(d.text); }
        }
        m._refetch = false;
        m._buffer = [];
        renderThread();
        streamUpdate(m);
        return;
      }
      await sleep(700);
    }
  }

  function applyDeltaQuiet(m, d) {
    let text = d.text || '';
    if (d.offset < m._cp) text = cpSkip(text, m._cp - d.offset);
    m.content += text;
    m._cp += cpLen(text);
  }

  function onRetract(id) {
    const m = state.messages.get(id);
    if (!m) return;
    m.content = '';
    m._cp = 0;
    m._retracted = true;
    m._buffer = [];
    renderThread();
  }

  function onSent(f) {
    const req = state.pending.get(f.request_id);
    state.pending.delete(f.request_id);
    state.sending = state.pending.size > 0;
    if (f.conversation !== state.convId) {
      if (state.convId == null && req && req.newChat && req.nav === state.nav) {
        adoptNewConversation(f);
      } else {
        // We moved on while it was sent; the server now watches that one.
        if (state.convId != null) sendFrame({ type: 'subscribe', conversation: state.convId });
        loadList(state.query);
        updateComposer();
        return;
      }
    }
    if (f.title && state.conv) setTitle(f.title);
    if (f.user_message) upsert(f.user_message);
    if (f.answer) {
      upsert(f.answer);
      state.leaf = f.answer.id;
    }
    if (req && req.kind === 'edit') { state.ui.editing = null; state.ui.editDraft = ''; }
    bumpConversation(state.convId, f.title);
    state.follow = true;
    renderThread();
    scrollToBottom(false);
  }

  function adoptNewConversation(f) {
    const settings = Object.assign({}, DEFAULTS, state.pendingSettings || {});
    state.convId = f.conversation;
    state.conv = Object.assign(settings, { id: f.conversation, title: f.title || 'New chat' });
    state.pendingSettings = null;
    history.pushState({ conv: f.conversation }, '', `/c/${f.conversation}/`);
    const row = { id: f.conversation, title: f.title || 'New chat', updated_at: new Date().toISOString() };
    if (state.query) loadList(state.query);
    else state.list = [row, ...state.list.filter((c) => c.id !== row.id)];
    renderSidebar();
    updateHeader();
    // Settings and anything said meanwhile.
    resync();
  }

  function onErrorFrame(f) {
    const req = f.request_id ? state.pending.get(f.request_id) : null;
    if (req) {
      state.pending.delete(f.request_id);
      state.sending = state.pending.size > 0;
      if (req.kind === 'send' && !els.composer.value) {
        els.composer.value = req.content;
        autosize(els.composer, composerMax());
      }
    }
    showError(f.message || 'Something went wrong.');
    updateComposer();
  }

  // ------------------------------------------------------------ conversations

  function loadDetail(detail, replace) {
    const c = detail.conversation;
    if (replace) {
      state.messages = new Map();
      state.feedback = new Map();
      cache.clear();
      els.thread.replaceChildren();
    }
    state.conv = Object.assign(state.conv && !replace ? state.conv : {}, c);
    state.leaf = c.current_leaf;
    for (const msg of detail.messages || []) upsert(msg);
    for (const [id, fb] of Object.entries(detail.feedback || {})) state.feedback.set(Number(id), fb);
    updateHeader();
    renderThread();
  }

  async function resync() {
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
    cache.clear();
    els.thread.replaceChildren();
    clearError();
  }

  async function openConversation(id, push) {
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

  function newChat(push) {
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

  function setTitle(title) {
    if (state.conv) state.conv.title = title;
    updateHeader();
  }

  function updateHeader() {
    const title = state.conv && state.conv.title ? state.conv.title : 'New chat';
    els.title.textContent = title;
    document.title = `${title} · Chatsite`;
    const id = state.convId;
    els.exportGroup.hidden = id == null;
    if (id != null) {
      els.exportJson.href = `/c/${id}/export.json`;
      els.exportMd.href = `/c/${id}/export.md`;
    }
  }

  window.addEventListener('popstate', () => {
    const m = /^\/c\/(\d+)\/?$/.exec(location.pathname);
    if (m) openConversation(Number(m[1]), false);
    else newChat(false);
  });

  // ------------------------------------------------------------ sidebar

  let listToken = 0;
  async function loadList(q) {
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

  function bumpConversation(id, title) {
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

  function renderSidebar() {
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
      ul.append(buildConvItem(c));
    }
    els.convList.replaceChildren(frag);
    const input = $('.conv-rename', els.convList);
    if (input) { input.focus(); input.select(); }
  }

  function buildConvItem(c) {
    const active = c.id === state.convId;
    const li = h('li', {
      class: 'conv-item' + (active ? ' active' : '') + (state.renaming === c.id ? ' renaming' : ''),
      testid: 'conversation-item', 'data-id': c.id,
    });
    if (state.renaming === c.id) {
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
    const link = h('a', {
      class: 'conv-link', href: `/c/${c.id}/`, title: c.title, 'aria-current': active ? 'page' : null,
    }, h('span', { class: 'conv-title' }, c.title));
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

  const mobile = window.matchMedia('(max-width: 820px)');
  function closeSidebarOnMobile() {
    if (mobile.matches) setSidebarOpen(false);
  }
  function setSidebarOpen(open) {
    document.body.classList.toggle('sidebar-open', open);
    els.backdrop.hidden = !open;
    els.sidebarToggle.setAttribute('aria-expanded', String(open));
  }
  els.sidebarToggle.addEventListener('click', () => {
    if (mobile.matches) setSidebarOpen(!document.body.classList.contains('sidebar-open'));
    else {
      const collapsed = document.body.classList.toggle('sidebar-collapsed');
      els.sidebarToggle.setAttribute('aria-expanded', String(!collapsed));
    }
  });
  els.backdrop.addEventListener('click', () => setSidebarOpen(false));

  // ------------------------------------------------------------ settings

  function currentSettings() {
    if (state.convId != null && state.conv && state.conv.temperature != null) return state.conv;
    return Object.assign({}, DEFAULTS, state.pendingSettings || {});
  }

  function openSettings() {
    const s = currentSettings();
    els.spSystem.value = s.system_prompt || '';
    els.spTemp.value = s.temperature;
    els.spTempRange.value = s.temperature;
    els.spTopP.value = s.top_p;
    els.spTopPRange.value = s.top_p;
    els.spMax.value = s.max_new_tokens;
    els.spMax.max = String(MAX_TOKENS_LIMIT);
    els.settingsNote.textContent = state.convId == null
      ? 'These apply from the first message of this new chat.'
      : 'Changes apply to the next answer.';
    els.settingsError.hidden = true;
    els.settingsPanel.hidden = false;
    els.settingsToggle.setAttribute('aria-expanded', 'true');
    els.settingsToggle.classList.add('on');
    els.spSystem.focus();
  }

  function closeSettings() {
    els.settingsPanel.hidden = true;
    els.settingsToggle.setAttribute('aria-expanded', 'false');
    els.settingsToggle.classList.remove('on');
  }

  function readSettings() {
    const temperature = Number(els.spTemp.value);
    const top_p = Number(els.spTopP.value);
    const max_new_tokens = Number(els.spMax.value);
    if (els.spTemp.value === '' || !(temperature >= 0 && temperature <= 2)) throw new Error('Temperature must be between 0 and 2.');
    if (els.spTopP.value === '' || !(top_p >= 0.01 && top_p <= 1)) throw new Error('Top-p must be between 0.01 and 1.');
    if (!Number.isInteger(max_new_tokens) || max_new_tokens < 1 || max_new_tokens > MAX_TOKENS_LIMIT) {
      throw new Error(`Max new tokens must be a whole number between 1 and ${fmt(MAX_TOKENS_LIMIT)}.`);
    }
    return { system_prompt: els.spSystem.value, temperature, top_p, max_new_tokens };
  }

  els.settingsToggle.addEventListener('click', () => {
    if (els.settingsPanel.hidden) openSettings(); else closeSettings();
  });
  els.settingsClose.addEventListener('click', closeSettings);
  els.settingsCancel.addEventListener('click', closeSettings);
  els.spTempRange.addEventListener('input', () => { els.spTemp.value = els.spTempRange.value; });
  els.spTemp.addEventListener('input', () => { els.spTempRange.value = els.spTemp.value; });
  els.spTopPRange.addEventListener('input', () => { els.spTopP.value = els.spTopPRange.value; });
  els.spTopP.addEventListener('input', () => { els.spTopPRange.value = els.spTopP.value; });

  els.settingsPanel.addEventListener('submit', async (e) => {
    e.preventDefault();
    let values;
    try {
      values = readSettings();
    } catch (err) {
      els.settingsError.textContent = err.message;
      els.settingsError.hidden = false;
      return;
    }
    if (state.convId == null) {
      state.pendingSettings = values;
      closeSettings();
      toast('Settings saved for this new chat.');
      return;
    }
    const id = state.convId;
    const save = $('#settings-save');
    save.disabled = true;
    try {
      const { conversation } = await api('PATCH', `/api/conversations/${id}/`, values);
      if (state.convId === id) {
        const leaf = state.leaf;
        Object.assign(state.conv, conversation);
        state.leaf = leaf;
      }
      closeSettings();
      toast('Settings saved.');
    } catch (err) {
      els.settingsError.textContent = err.message;
      els.settingsError.hidden = false;
    } finally {
      save.disabled = false;
    }
  });

  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !els.settingsPanel.hidden) { closeSettings(); els.settingsToggle.focus(); }
    if ((e.ctrlKey || e.metaKey) && e.shiftKey && (e.key === 'O' || e.key === 'o')) {
      e.preventDefault();
      newChat(true);
    }
  });
  document.addEventListener('mousedown', (e) => {
    if (!els.settingsPanel.hidden && !els.settingsPanel.contains(e.target) && !els.settingsToggle.contains(e.target)) {
      closeSettings();
    }
  });

  // ------------------------------------------------------------ start

  if (initial && initial.conversation) {
    state.convId = initial.conversation.id;
    history.replaceState({ conv: state.convId }, '', location.href);
    loadDetail(initial, true);
  } else {
    updateHeader();
    renderThread();
  }
  loadList('');
  connect();
  autosize(els.composer, composerMax());
  els.composer.focus();
  requestAnimationFrame(() => scrollToBottom(false));
})();
