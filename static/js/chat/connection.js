/* The chat socket and what its frames do to the page. Streaming text
   follows lib/stream.js; a delta for a message not held yet (another tab
   started it) fetches that message. */
import { api, onSignedOut } from '../lib/http.js';
import { reconnectingSocket } from '../lib/socket.js';
import { ACTIVE, deltaStream } from '../lib/stream.js';
import { DEFAULTS, clearError, els, showError, state, upsert } from './page.js';
import { renderThread, scrollToBottom, streamUpdate } from './render.js';
import { flushUnsent, restoreDraft, updateComposer } from './composer.js';
import { resync, setTitle, updateHeader } from './conversations.js';
import { bumpConversation, loadList, renderSidebar } from './sidebar.js';

const PING_MS = 25000;

const socket = reconnectingSocket({
  path: '/ws/chat/',
  banner: els.conn,
  pingMs: PING_MS,
  sessionUrl: '/api/conversations/?q=',
  onOpen(again) {
    clearError('conn');
    if (state.convId != null) {
      sendFrame({ type: 'subscribe', conversation: state.convId });
      resync();
    }
    flushUnsent();
    if (again) loadList(state.query);
  },
  onFrame: handleFrame,
  onClose: dropPending,
});
onSignedOut(socket.sessionEnded);

export const connect = socket.connect;
export const sendFrame = socket.send;
export const socketStopped = socket.stopped;

const stream = deltaStream({
  fetchMessage: async (m) => (await api('GET', `/api/messages/${m.id}/`)).message,
  isCurrent: (m) => state.messages.get(m.id) === m,
  onFinal: () => renderThread(),
  onText(m, text, wasEmpty) {
    if (m.status === 'queued' || wasEmpty) {
      if (m.status === 'queued') m.status = 'streaming';
      renderThread();
    } else {
      streamUpdate(m, text);
    }
  },
  onResync(m) {
    renderThread();
    streamUpdate(m);
  },
  onHeld(m) {
    if (m.status === 'queued') m.status = 'streaming';
    renderThread();
  },
});

/** The socket closed: what it carried may or may not have reached the
    server. Messages still waiting for it to open wait on. */
function dropPending() {
  let dropped = 0;
  for (const [id, req] of state.pending) {
    if (req.unsent) continue;
    restoreDraft(req);
    state.pending.delete(id);
    dropped += 1;
  }
  if (!dropped) return;
  state.sending = state.pending.size > 0;
  showError('The connection dropped before the server confirmed your message. It may not have been sent.', 'conn');
  updateComposer();
}

function handleFrame(f) {
  switch (f.type) {
    case 'message': onMessageFrame(f.message); break;
    case 'delta': onDelta(f); break;
    case 'retract': onRetract(f.message_id); break;
    case 'report': onReportFrame(f); break;
    case 'sent': onSent(f); break;
    case 'error': onErrorFrame(f); break;
    default: break; // subscribed, pong
  }
}

/** A moderator decided one of this user's reports, in any conversation:
    the answer shows the outcome if this page holds it, else once loaded. */
function onReportFrame(f) {
  if (!f.report) return;
  state.reports.set(f.message_id, f.report);
  if (state.messages.has(f.message_id)) renderThread();
}

function onMessageFrame(msg) {
  if (!msg || msg.conversation !== state.convId || state.convId == null) return;
  const held = state.messages.get(msg.id);
  const wasFlagged = !!held && held.status === 'flagged';
  const { m, isNew, stale } = upsert(msg);
  if (stale) return;
  if (m.role === 'user' && m.status === 'flagged' && !wasFlagged) {
    // Moderation may have taken the conversation's title back (it named
    // the chat after this message): the header and the sidebar reload it.
    resync();
  }
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
  if (m.role === 'assistant') stream.delta(m, f);
}

const unknownSeen = new Set(); // message ids fetched once for a stray delta
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

function onRetract(id) {
  const m = state.messages.get(id);
  if (!m) return;
  stream.retract(m);
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
    restoreDraft(req);
    if (req.kind === 'continue') resync(); // it was shown as queued: reload its real state
  }
  showError(f.message || 'Something went wrong.');
  updateComposer();
}
