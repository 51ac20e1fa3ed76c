/* One reconnecting WebSocket for every page (chat, arena, job page).

   After a drop it waits 1, 2, 4 ... 30 s (each with ±20 % jitter, so a
   restarted server is not met by every page at once); a handshake that
   never opened may be a refused session, so HTTP is asked whether the
   session is still good. Close codes (core/user_sockets.py,
   core/websockets.py):
     4001 the account changed: reconnect at once, the handshake decides again;
     4401 signed out: stop and offer the login page;
     4403 not allowed here: stop and say so;
     4429 too many sockets or frames: say why and wait a minute;
     4503, 1012 and the rest: the server is briefly away, reconnect with backoff.
   The state shows in a `.conn-banner` status element. */
import { h } from './dom.js';

const ACCOUNT_CHANGED = 4001;
const SIGNED_OUT = 4401;
const FORBIDDEN = 4403;
const TOO_MANY = 4429;
const TOO_MANY_RETRY_MS = 60000;
const MAX_BACKOFF_MS = 30000;

/**
 * path: the socket's path ('/ws/chat/').
 * banner: the status element (hidden while connected).
 * onOpen(again): after each handshake; `again` is false the first time.
 * onFrame(frame): each JSON frame.
 * onClose(): after each close, before the reconnect is planned.
 * pingMs: a {type: 'ping'} frame this often (0: none).
 * sessionUrl: a GET that answers 401/403 or redirects once the session is
 *   gone (the page itself unless told).
 * forbidden: what to say on 4403.
 * reconnectWhile(): false once the page has nothing more to follow.
 */
export function reconnectingSocket({
  path, banner, onOpen = () => {}, onFrame, onClose = () => {}, pingMs = 0,
  sessionUrl = location.pathname, forbidden = 'You are not allowed here.',
  reconnectWhile = () => true,
}) {
  const conn = { ws: null, retry: 0, timer: null, ping: null, dead: false, opened: false };
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;

  function send(frame) {
    if (!conn.ws || conn.ws.readyState !== WebSocket.OPEN) return false;
    conn.ws.send(JSON.stringify(frame));
    return true;
  }

  function show(text, action) {
    if (!text) { banner.hidden = true; banner.replaceChildren(); return; }
    banner.replaceChildren(h('span', { class: 'conn-dot', 'aria-hidden': 'true' }), h('span', {}, text), action || null);
    banner.hidden = false;
  }

  function connect() {
    if (conn.dead) return;
    clearTimeout(conn.timer);
    let ws;
    try { ws = new WebSocket(url); } catch { scheduleReconnect(false); return; }
    conn.ws = ws;
    let opened = false;
    ws.addEventListener('open', () => {
      opened = true;
      conn.retry = 0;
      show('');
      clearInterval(conn.ping);
      if (pingMs) conn.ping = setInterval(() => send({ type: 'ping' }), pingMs);
      const again = conn.opened;
      conn.opened = true;
      onOpen(again);
    });
    ws.addEventListener('message', (e) => {
      let frame;
      try { frame = JSON.parse(e.data); } catch { return; }
      if (frame && typeof frame === 'object') onFrame(frame);
    });
    ws.addEventListener('close', (e) => {
      if (conn.ws !== ws) return;
      conn.ws = null;
      clearInterval(conn.ping);
      onClose();
      if (e.code === SIGNED_OUT) { sessionEnded(); return; }
      if (e.code === FORBIDDEN) { stop(forbidden); return; }
      if (e.code === TOO_MANY) { scheduleReconnect(true, e.reason || 'Too many connections.'); return; }
      if (e.code === ACCOUNT_CHANGED) conn.retry = 0;
      if (!reconnectWhile()) return;
      scheduleReconnect(opened || e.code === ACCOUNT_CHANGED);
    });
  }

  function scheduleReconnect(wasOpen, refusal) {
    if (conn.dead) return;
    const wait = refusal ? TOO_MANY_RETRY_MS : Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(conn.retry, 5));
    const delay = wait * (0.8 + Math.random() * 0.4);
    conn.retry += 1;
    const retryNow = h('button', { type: 'button', class: 'link', onclick: () => connect() }, 'Retry now');
    const seconds = Math.max(1, Math.round(delay / 1000));
    show(`${refusal || 'Connection lost.'} Reconnecting in ${seconds} s…`, retryNow);
    conn.timer = setTimeout(connect, delay);
    if (!wasOpen) {
      // A refused handshake looks like any network error: ask HTTP whether
      // the session is still good.
      fetch(sessionUrl, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then((r) => { if (r.status === 401 || r.status === 403 || r.redirected) sessionEnded(); })
        .catch(() => {});
    }
  }

  /** No more reconnects; `text` says why, `action` offers what to do. */
  function stop(text, action) {
    if (conn.dead) return;
    conn.dead = true;
    clearTimeout(conn.timer);
    clearInterval(conn.ping);
    if (conn.ws) { try { conn.ws.close(); } catch { /* closing anyway */ } }
    show(text, action);
    banner.classList.add('dead');
  }

  function sessionEnded() {
    const next = encodeURIComponent(location.pathname);
    stop('Your session has ended. Please log in again.',
      h('a', { class: 'link', href: `/accounts/login/?next=${next}` }, 'Log in'));
  }

  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && !conn.ws && !conn.dead && reconnectWhile()) connect();
  });
  window.addEventListener('online', () => { if (!conn.ws && !conn.dead && reconnectWhile()) connect(); });

  /** True once it gave up for good (signed out, not allowed). */
  const stopped = () => conn.dead;

  return { connect, send, sessionEnded, stopped };
}
