/* The delta-offset protocol of a streaming answer (chat and arena alike).

   The server sends {message_id, offset, text} deltas, `offset` counting
   code points of the answer before `text`; a `message` frame carries the
   whole saved answer, a `retract` frame empties it (moderation took the
   text back). A delta without text says the model is writing but output
   moderation still holds its text. A page keeps each answer as the
   server's dict plus:
     _cp        code points of `content` held so far
     _held      the model has written text that moderation still checks
     _retracted the text was taken back; wait for the final frame
     _refetch   a gap is being filled: deltas queue in _buffer meanwhile
     _lossy     the gap could not be filled; show what comes, the final
                frame carries all of it
   A delta past the text held is a gap (a frame lost while the socket was
   away): the saved text is fetched, then what queued up is replayed; after
   a few tries the page shows what it has and waits for the final frame. */
import { cpLen, cpSkip } from './codepoints.js';

export const ACTIVE = new Set(['pending', 'queued', 'streaming']);

const RETRY_MS = 700;
const MAX_TRIES = 4;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rank = (s) => (s === 'queued' || s === 'pending' ? 0 : s === 'streaming' ? 1 : 2);

/** A message dict from the server, as the page keeps it. */
export function streamedMessage(inc) {
  return Object.assign({}, inc, { _cp: cpLen(inc.content || '') });
}

/** Folds a newer copy `inc` of the answer into `m`; false when `inc` is
    older than what `m` shows (a frame overtaken by a later one). */
export function mergeMessage(m, inc) {
  if (rank(inc.status) < rank(m.status)) return false;
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
  return true;
}

function appendQuiet(m, d) {
  let text = d.text || '';
  if (d.offset < m._cp) text = cpSkip(text, m._cp - d.offset);
  m.content += text;
  m._cp += cpLen(text);
  return text;
}

/**
 * fetchMessage(m): resolves to the saved copy of answer `m`.
 * isCurrent(m): false once the page dropped `m` (another conversation).
 * onFinal(message): the saved copy turned out final.
 * onText(m, text, wasEmpty): `text` was appended to `m.content`.
 * onResync(m): `m.content` was replaced after a gap.
 * onHeld(m): optional; the model is writing, moderation holds its text.
 */
export function deltaStream({ fetchMessage, isCurrent, onFinal, onText, onResync, onHeld }) {
  function delta(m, f) {
    if (!ACTIVE.has(m.status)) return;
    if (!f.text) {
      if (!m._held) { m._held = true; if (onHeld) onHeld(m); }
      return;
    }
    if (m._refetch) { m._buffer.push(f); return; }
    if (f.offset > m._cp && !m._lossy) { refetchGap(m, f); return; }
    const wasEmpty = m._cp === 0;
    const text = appendQuiet(m, f);
    if (!text) return;
    m._retracted = false;
    onText(m, text, wasEmpty);
  }

  async function refetchGap(m, first) {
    m._refetch = true;
    m._buffer = [first];
    for (let tries = 0; ; tries++) {
      try {
        const message = await fetchMessage(m);
        if (!isCurrent(m)) return;
        if (!ACTIVE.has(message.status)) {
          mergeMessage(m, message);
          onFinal(m);
          return;
        }
        const cp = cpLen(message.content || '');
        if (cp > m._cp && !m._retracted) { m.content = message.content; m._cp = cp; }
      } catch {
        if (!isCurrent(m)) return;
      }
      if (!m._refetch) return; // a final frame arrived meanwhile
      const queued = m._buffer.sort((a, b) => a.offset - b.offset);
      m._buffer = [];
      let gap = false;
      for (const d of queued) {
        if (gap || d.offset > m._cp) { gap = true; m._buffer.push(d); } else appendQuiet(m, d);
      }
      if (!gap || tries >= MAX_TRIES) {
        if (gap) {
          // Still missing text: show what we have; the final frame carries all of it.
          m._lossy = true;
          for (const d of m._buffer) { m.content += d.text; m._cp = d.offset + cpLen(d.text); }
        }
        m._refetch = false;
        m._buffer = [];
        onResync(m);
        return;
      }
      await sleep(RETRY_MS);
    }
  }

  function retract(m) {
    m.content = '';
    m._cp = 0;
    m._retracted = true;
    m._buffer = [];
  }

  return { delta, retract };
}
