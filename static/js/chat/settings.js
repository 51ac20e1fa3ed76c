/* The settings popover: system prompt and sampling, the user's defaults
   and their saved presets. A new chat keeps the settings for its first
   send (without any, the server starts it from the user's defaults); an
   open conversation saves them at once. Picking a preset or resetting to
   the defaults only fills the form: Save applies it to this chat, so no
   chat changes behind the user's back. */
import { $, h, readJSON } from '../lib/dom.js';
import { api } from '../lib/http.js';
import { cpLen } from '../lib/codepoints.js';
import { DEFAULTS, MAX_TOKENS_LIMIT, els, fmt, state, toast } from './page.js';
import { newChat } from './conversations.js';

const LIMITS = readJSON('chat-limits') || {};
const PRESET_NAME_MAX = Number(LIMITS.preset_name_max_chars) || 60;

const ps = {
  picker: $('#preset-picker'),
  rename: $('#preset-rename'),
  remove: $('#preset-delete'),
  nameRow: $('#preset-name-row'),
  name: $('#preset-name'),
  nameSave: $('#preset-name-save'),
  nameCancel: $('#preset-name-cancel'),
  confirmRow: $('#preset-confirm-row'),
  confirmText: $('#preset-confirm-text'),
  confirm: $('#preset-delete-confirm'),
  keep: $('#preset-delete-cancel'),
  saveAs: $('#preset-save-as'),
  update: $('#preset-update'),
  saveDefaults: $('#settings-save-defaults'),
  resetDefaults: $('#settings-reset-defaults'),
  forgetDefaults: $('#settings-forget-defaults'),
  status: $('#settings-status'),
};

let presets = readJSON('chat-presets') || []; // [{id, name, system_prompt, temperature, top_p, max_new_tokens}]
let naming = null; // null, 'create', or the id of the preset being renamed

function currentSettings() {
  if (state.convId != null && state.conv && state.conv.temperature != null) return state.conv;
  return Object.assign({}, DEFAULTS, state.pendingSettings || {});
}

function fillForm(s) {
  els.spSystem.value = s.system_prompt || '';
  els.spTemp.value = s.temperature;
  els.spTempRange.value = s.temperature;
  els.spTopP.value = s.top_p;
  els.spTopPRange.value = s.top_p;
  els.spMax.value = s.max_new_tokens;
}

function openSettings() {
  fillForm(currentSettings());
  els.spMax.max = String(MAX_TOKENS_LIMIT);
  els.settingsNote.textContent = state.convId == null
    ? 'These apply from the first message of this new chat.'
    : 'Changes apply to the next answer.';
  els.settingsError.hidden = true;
  ps.status.textContent = '';
  closeNaming();
  renderPresets(null);
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

function showSettingsError(text) {
  ps.status.textContent = '';
  els.settingsError.textContent = text;
  els.settingsError.hidden = false;
}

/** A confirmation inside the panel, where the eyes are. */
function showStatus(text) {
  els.settingsError.hidden = true;
  ps.status.textContent = text;
}

async function saveSettings(e) {
  e.preventDefault();
  let values;
  try {
    values = readSettings();
  } catch (err) {
    showSettingsError(err.message);
    return;
  }
  if (state.convId == null) {
    state.pendingSettings = values;
    closeSettings();
    toast('Settings saved for this new chat.');
    return;
  }
  const id = state.convId;
  els.settingsSave.disabled = true;
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
    showSettingsError(err.message);
  } finally {
    els.settingsSave.disabled = false;
  }
}

/** Runs `request` with `button` disabled, showing its error in the panel. */
async function busy(button, request) {
  button.disabled = true;
  try {
    return await request();
  } catch (err) {
    showSettingsError(err.message);
    return null;
  } finally {
    button.disabled = false;
  }
}

// ------------------------------------------------------------ defaults

/** Takes the server's answer about the defaults. */
function adoptDefaults(res) {
  Object.assign(DEFAULTS, res.defaults);
  ps.forgetDefaults.hidden = !res.saved; // nothing to forget: new chats start from the site's settings
}

async function saveDefaults() {
  let values;
  try { values = readSettings(); } catch (err) { showSettingsError(err.message); return; }
  const res = await busy(ps.saveDefaults, () => api('PUT', '/api/chat-defaults/', values));
  if (!res) return;
  adoptDefaults(res);
  showStatus(state.convId == null
    ? 'Saved as your defaults: every new chat starts from these settings.'
    : 'Saved as your defaults for new chats; Save applies them to this chat too.');
}

async function forgetDefaults() {
  const res = await busy(ps.forgetDefaults, () => api('DELETE', '/api/chat-defaults/'));
  if (!res) return;
  adoptDefaults(res);
  showStatus("Your defaults are forgotten: new chats start from the site's settings.");
}

async function resetDefaults() {
  // Fresh from the server: another tab may have saved newer ones.
  const res = await busy(ps.resetDefaults, () => api('GET', '/api/chat-defaults/'));
  if (!res) return;
  adoptDefaults(res);
  fillForm(DEFAULTS);
  ps.picker.value = '';
  syncPresetButtons();
  showStatus(state.convId == null
    ? 'Your defaults are filled in.'
    : 'Your defaults are filled in; Save applies them to this chat.');
}

// ------------------------------------------------------------ presets

function selectedPreset() {
  return presets.find((p) => String(p.id) === ps.picker.value) || null;
}

function syncPresetButtons() {
  const chosen = selectedPreset();
  ps.rename.disabled = !chosen;
  ps.remove.disabled = !chosen;
  ps.update.disabled = !chosen;
}

function renderPresets(selectedId) {
  presets.sort((a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }) || a.id - b.id);
  ps.picker.replaceChildren(
    h('option', { value: '' }, presets.length ? 'Choose a preset…' : 'No presets saved yet'),
    ...presets.map((p) => h('option', { value: String(p.id) }, p.name)),
  );
  ps.picker.value = selectedId == null ? '' : String(selectedId);
  syncPresetButtons();
}

function pickPreset() {
  closeNaming();
  syncPresetButtons();
  const chosen = selectedPreset();
  if (!chosen) return;
  fillForm(chosen);
  showStatus(state.convId == null
    ? `"${chosen.name}" is filled in.`
    : `"${chosen.name}" is filled in; Save applies it to this chat.`);
}

/** Opens the name field: for a new preset of the form's settings, or to rename the chosen one. */
function openNaming(mode) {
  const chosen = selectedPreset();
  if (mode !== 'create' && !chosen) return;
  naming = mode === 'create' ? 'create' : chosen.id;
  ps.confirmRow.hidden = true;
  ps.nameRow.hidden = false;
  ps.name.value = mode === 'create' ? '' : chosen.name;
  ps.nameSave.textContent = mode === 'create' ? 'Save preset' : 'Rename';
  ps.name.focus();
  ps.name.select();
}

function closeNaming() {
  naming = null;
  ps.nameRow.hidden = true;
  ps.confirmRow.hidden = true;
}

async function saveName() {
  const name = ps.name.value.trim();
  if (!name) { showSettingsError('Name the preset.'); return; }
  if (cpLen(name) > PRESET_NAME_MAX) {
    showSettingsError(`A preset's name is at most ${PRESET_NAME_MAX} characters.`);
    return;
  }
  if (naming === 'create') {
    let values;
    try { values = readSettings(); } catch (err) { showSettingsError(err.message); return; }
    const res = await busy(ps.nameSave, () => api('POST', '/api/presets/', { name, settings: values }));
    if (!res) return;
    presets.push(res.preset);
    closeNaming();
    renderPresets(res.preset.id);
    showStatus(`Saved as the preset "${res.preset.name}".`);
  } else if (naming != null) {
    const id = naming;
    const res = await busy(ps.nameSave, () => api('PATCH', `/api/presets/${id}/`, { name }));
    if (!res) return;
    presets = presets.map((p) => (p.id === id ? res.preset : p));
    closeNaming();
    renderPresets(id);
    showStatus(`Renamed to "${res.preset.name}".`);
  }
}

async function updatePreset() {
  const chosen = selectedPreset();
  if (!chosen) return;
  let values;
  try { values = readSettings(); } catch (err) { showSettingsError(err.message); return; }
  const res = await busy(ps.update, () => api('PATCH', `/api/presets/${chosen.id}/`, { settings: values }));
  if (!res) return;
  presets = presets.map((p) => (p.id === chosen.id ? res.preset : p));
  renderPresets(chosen.id);
  showStatus(`"${res.preset.name}" now holds these settings.`);
}

function askDelete() {
  const chosen = selectedPreset();
  if (!chosen) return;
  closeNaming();
  ps.confirmText.textContent = `Delete the preset "${chosen.name}"?`;
  ps.confirmRow.hidden = false;
  ps.keep.focus();
}

async function deletePreset() {
  const chosen = selectedPreset();
  if (!chosen) return;
  const res = await busy(ps.confirm, () => api('DELETE', `/api/presets/${chosen.id}/`));
  if (!res) return;
  presets = presets.filter((p) => p.id !== chosen.id);
  closeNaming();
  renderPresets(null);
  showStatus(`Deleted the preset "${chosen.name}".`);
}

export function initSettings() {
  els.settingsToggle.addEventListener('click', () => {
    if (els.settingsPanel.hidden) openSettings(); else closeSettings();
  });
  els.settingsClose.addEventListener('click', closeSettings);
  els.settingsCancel.addEventListener('click', closeSettings);
  els.spTempRange.addEventListener('input', () => { els.spTemp.value = els.spTempRange.value; });
  els.spTemp.addEventListener('input', () => { els.spTempRange.value = els.spTemp.value; });
  els.spTopPRange.addEventListener('input', () => { els.spTopP.value = els.spTopPRange.value; });
  els.spTopP.addEventListener('input', () => { els.spTopPRange.value = els.spTopP.value; });
  els.settingsPanel.addEventListener('submit', saveSettings);

  ps.name.maxLength = PRESET_NAME_MAX;
  ps.picker.addEventListener('change', pickPreset);
  ps.rename.addEventListener('click', () => openNaming('rename'));
  ps.remove.addEventListener('click', askDelete);
  ps.saveAs.addEventListener('click', () => openNaming('create'));
  ps.update.addEventListener('click', updatePreset);
  ps.nameSave.addEventListener('click', saveName);
  ps.nameCancel.addEventListener('click', closeNaming);
  ps.confirm.addEventListener('click', deletePreset);
  ps.keep.addEventListener('click', closeNaming);
  ps.saveDefaults.addEventListener('click', saveDefaults);
  ps.resetDefaults.addEventListener('click', resetDefaults);
  ps.forgetDefaults.addEventListener('click', forgetDefaults);
  ps.forgetDefaults.hidden = !LIMITS.defaults_saved;
  ps.name.addEventListener('keydown', (e) => {
    // Enter names the preset rather than submitting the chat's settings; Escape closes only the name field.
    if (e.key === 'Enter' && !e.isComposing) { e.preventDefault(); saveName(); }
    if (e.key === 'Escape') { e.stopPropagation(); closeNaming(); }
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
}
