/* The settings popover: system prompt and sampling. A new chat keeps them
   for its first send; an open conversation saves them at once. */
import { api } from '../lib/http.js';
import { DEFAULTS, MAX_TOKENS_LIMIT, els, fmt, state, toast } from './page.js';
import { newChat } from './conversations.js';

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

function showSettingsError(text) {
  els.settingsError.textContent = text;
  els.settingsError.hidden = false;
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
