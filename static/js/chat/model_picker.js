/* The model picker in the chat header: the default (the serving model) and
   the versions admins offer in chat, each with its description. A new
   chat keeps the pick for its first send (the `model` of the send frame);
   an open conversation saves it at once (PUT /api/conversations/<id>/model/),
   and its next answers come from that model. The server checks every
   pick (chat/model_choice.py); a conversation whose model is no longer
   offered says so here, and its answers come from the default. */
import { $, h, readJSON } from '../lib/dom.js';
import { api } from '../lib/http.js';
import { state, toast } from './page.js';

const CHOICES = readJSON('chat-models') || [];
const DEFAULT = CHOICES[0] || { id: null, version_id: null, label: 'Default model', description: '' };

const mp = {
  root: $('#model-picker'),
  button: $('#model-picker-btn'),
  label: $('#model-picker-label'),
  list: $('#model-picker-list'),
  note: $('#model-note'),
};

let newChatPick = null; // the pick a new chat's first send carries
let saving = false;

/** The version id a new chat's first send asks for (null: the default). */
export function newChatModel() {
  return newChatPick;
}

function currentPick() {
  if (state.convId == null || !state.conv || !('model_version' in state.conv)) return newChatPick;
  return state.conv.model_version;
}

/** The entry the pick shows as, and whether the pick is no longer offered. */
function resolve(pick) {
  if (pick == null) return { choice: DEFAULT, gone: false };
  const choice = CHOICES.find((c) => c.id === pick);
  if (choice) return { choice, gone: false };
  if (pick === DEFAULT.version_id) return { choice: DEFAULT, gone: false };
  return { choice: DEFAULT, gone: true };
}

/** Shows the conversation's pick; chat/conversations.js calls it with the header. */
export function renderModelPicker() {
  if (!mp.root) return;
  const { choice, gone } = resolve(currentPick());
  mp.label.textContent = choice.label;
  mp.button.title = `Model: ${choice.label}`;
  mp.note.hidden = !gone;
  mp.note.textContent = gone
    ? `The model picked for this chat is no longer offered, so new answers come from the default model, ${DEFAULT.label}. Pick another to change it.`
    : '';
  for (const item of mp.list.children) {
    const selected = item.dataset.id === String(choice.id);
    item.setAttribute('aria-selected', selected ? 'true' : 'false');
    item.classList.toggle('selected', selected);
  }
}

function buildList() {
  mp.list.replaceChildren(...CHOICES.map((c) => h('li', {
    role: 'option',
    class: 'model-option',
    tabindex: '-1',
    testid: 'model-option',
    'data-id': String(c.id),
    'data-name': c.name,
    onclick: () => choose(c),
  },
  h('span', { class: 'model-option-label' }, c.label, c.id == null ? h('small', { class: 'model-option-tag' }, 'default') : null),
  c.description ? h('span', { class: 'model-option-desc' }, c.description) : null)));
}

function openList() {
  mp.list.hidden = false;
  mp.button.setAttribute('aria-expanded', 'true');
  const selected = mp.list.querySelector('[aria-selected="true"]') || mp.list.firstElementChild;
  if (selected) selected.focus();
}

function closeList(refocus) {
  if (mp.list.hidden) return;
  mp.list.hidden = true;
  mp.button.setAttribute('aria-expanded', 'false');
  if (refocus) mp.button.focus();
}

async function choose(choice) {
  closeList(true);
  if (state.convId == null) {
    newChatPick = choice.id;
    renderModelPicker();
    return;
  }
  if (saving) return;
  const id = state.convId;
  saving = true;
  try {
    const data = await api('PUT', `/api/conversations/${id}/model/`, { version: choice.id });
    if (state.convId === id && state.conv) state.conv.model_version = data.conversation.model_version;
    toast(`Next answers in this chat come from ${choice.label}.`);
  } catch (err) {
    toast(err.message, 'error');
  } finally {
    saving = false;
    renderModelPicker();
  }
}

function moveFocus(step) {
  const items = Array.from(mp.list.children);
  const at = items.indexOf(document.activeElement);
  const next = items[(at + step + items.length) % items.length];
  if (next) next.focus();
}

export function initModelPicker() {
  if (!mp.root) return;
  buildList();
  mp.button.addEventListener('click', () => (mp.list.hidden ? openList() : closeList(false)));
  mp.button.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') { e.preventDefault(); openList(); }
  });
  mp.list.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') { e.preventDefault(); moveFocus(1); }
    else if (e.key === 'ArrowUp') { e.preventDefault(); moveFocus(-1); }
    else if (e.key === 'Escape') { e.preventDefault(); closeList(true); }
    else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      const choice = CHOICES.find((c) => String(c.id) === document.activeElement.dataset.id);
      if (choice) choose(choice);
    } else if (e.key === 'Tab') closeList(false);
  });
  document.addEventListener('click', (e) => { if (!mp.root.contains(e.target)) closeList(false); });
  renderModelPicker();
}
