/* The message tree, pure: messages are {id, parent, role, status}; a
   conversation shows one path from a root to its current leaf, and each
   message on it may have siblings (other versions) of the same role. */
import { ACTIVE } from '../lib/stream.js';

/** parent id (0 for roots) -> children, oldest first. */
export function buildIndex(messages) {
  const byParent = new Map();
  for (const m of messages.values()) {
    const k = m.parent == null ? 0 : m.parent;
    if (!byParent.has(k)) byParent.set(k, []);
    byParent.get(k).push(m);
  }
  for (const arr of byParent.values()) arr.sort((a, b) => a.id - b.id);
  return byParent;
}

/** The leaf reached from `m` by always taking the newest child. */
export function newestLeaf(m, idx) {
  let node = m;
  for (;;) {
    const kids = idx.get(node.id);
    if (!kids || !kids.length) return node;
    node = kids[kids.length - 1];
  }
}

/** Root to `leafId` (or to the newest leaf when it is unknown). */
export function currentPath(messages, leafId, idx) {
  let leaf = leafId != null ? messages.get(leafId) : null;
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
    node = node.parent != null ? messages.get(node.parent) : null;
  }
  return path.reverse();
}

export function siblingsOf(m, idx) {
  return (idx.get(m.parent == null ? 0 : m.parent) || []).filter((x) => x.role === m.role);
}

/** The answer still being written: the one on the path, else the newest. */
export function activeAnswer(messages, leafId) {
  const onPath = currentPath(messages, leafId, buildIndex(messages))
    .filter((m) => m.role === 'assistant' && ACTIVE.has(m.status));
  if (onPath.length) return onPath[onPath.length - 1];
  let best = null;
  for (const m of messages.values()) {
    if (m.role === 'assistant' && ACTIVE.has(m.status) && (!best || m.id > best.id)) best = m;
  }
  return best;
}

export function lastAssistantOnPath(messages, leafId) {
  const path = currentPath(messages, leafId, buildIndex(messages));
  for (let i = path.length - 1; i >= 0; i--) if (path[i].role === 'assistant') return path[i].id;
  return null;
}
