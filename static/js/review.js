/* The review queue, by keyboard: j/k move, c/o decide, n note, x check,
   Shift+C/Shift+O decide the checked items, Enter opens, ? helps.
   Decisions post the page's own forms with fetch() and update the row; an
   item decided out of the status the list shows moves below it, into
   "Decided here", where a change of mind is still a key away. Without this
   script the same forms post and redirect back. */
import { $, $$ } from './lib/dom.js';
import { postForm } from './lib/http.js';
import { toaster } from './lib/toast.js';

const table = $('#review-table');
const filter = $('#review-filter');
const help = $('#review-help');
const toast = toaster($('#review-toast'));
const bulkForm = $('#bulk-form');
const bulkCount = $('#bulk-count');
const selectAll = $('#review-select-all');

// Filters apply as soon as one changes.
if (filter) {
  for (const select of $$('select', filter)) select.addEventListener('change', () => filter.requestSubmit());
}

const decidedBody = $('[data-testid=review-decided-items]');
const shownStatus = table ? table.dataset.showsStatus : '';
let rows = table ? $$('[data-testid=review-row]', table) : [];
let current = -1;

function rowById(id) {
  return rows.find((row) => Number(row.dataset.id) === Number(id));
}

function checkbox(row) { return $('[data-testid=review-select]', row); }
function noteInput(row) { return $('[data-testid=review-note]', row); }

// ------------------------------------------------------------- selection

function select(index, scroll = true) {
  if (!rows.length) return;
  index = Math.max(0, Math.min(rows.length - 1, index));
  if (current >= 0 && rows[current]) {
    rows[current].classList.remove('selected');
    rows[current].removeAttribute('aria-selected');
  }
  current = index;
  const row = rows[current];
  row.classList.add('selected');
  row.setAttribute('aria-selected', 'true');
  if (scroll) row.scrollIntoView({ block: 'nearest' });
}

function selected() { return current >= 0 ? rows[current] : null; }

// Rows move (see moveDecided), so handlers look their index up when they run.
for (const row of rows) {
  row.addEventListener('click', () => {
    const index = rows.indexOf(row);
    if (current !== index) select(index, false);
  });
}

// -------------------------------------------------------------- checking

function updateBulk() {
  const checked = rows.filter((row) => checkbox(row).checked);
  for (const row of rows) row.classList.toggle('checked', checkbox(row).checked);
  if (bulkCount) {
    bulkCount.textContent = checked.length
      ? `${checked.length} checked`
      : 'Check items to decide them together';
  }
  if (bulkForm) bulkForm.classList.toggle('active', checked.length > 0);
  if (selectAll) {
    selectAll.checked = checked.length > 0 && checked.length === rows.length;
    selectAll.indeterminate = checked.length > 0 && checked.length < rows.length;
  }
}

for (const row of rows) checkbox(row).addEventListener('change', updateBulk);
if (selectAll) {
  selectAll.addEventListener('change', () => {
    for (const row of rows) checkbox(row).checked = selectAll.checked;
    updateBulk();
  });
}

function toggleChecked(row) {
  const box = checkbox(row);
  box.checked = !box.checked;
  updateBulk();
}

// ------------------------------------------------------------- deciding

const LABELS = { confirm: 'confirmed', overturn: 'overturned' };

/** An item no longer in the status shown leaves the list for "Decided
    here"; the keys walk the rows in their new order, and the selected
    row stays selected. */
function moveDecided(row) {
  if (!shownStatus || !decidedBody || row.dataset.status === shownStatus || decidedBody.contains(row)) return;
  const chosen = selected();
  decidedBody.append(row);
  decidedBody.hidden = false;
  rows = $$('[data-testid=review-row]', table);
  current = chosen ? rows.indexOf(chosen) : -1;
}

function applyItem(item) {
  const row = rowById(item.id);
  if (!row) return;
  row.dataset.status = item.status;
  row.classList.remove('pending');
  row.classList.add('decided');
  const cell = $('[data-testid=review-status]', row);
  const badge = document.createElement('span');
  badge.className = `status status-${item.status}`;
  badge.textContent = item.status_label;
  const parts = [badge];
  if (item.reviewer) {
    const who = document.createElement('small');
    who.setAttribute('data-testid', 'review-reviewer');
    who.textContent = item.reviewer;
    parts.push(who);
  }
  cell.replaceChildren(...parts);
  const note = noteInput(row);
  if (note) note.value = item.note || '';
  moveDecided(row);
}

async function decide(row, decision) {
  if (!row || row.classList.contains('pending')) return;
  const body = new URLSearchParams({ decision, note: noteInput(row).value });
  row.classList.add('pending');
  try {
    const { items } = await postForm(row.dataset.decideUrl, body);
    items.forEach(applyItem);
    toast(`#${row.dataset.id} ${LABELS[decision]}.`);
  } catch (err) {
    row.classList.remove('pending');
    toast(err.message, 'error');
  }
}

async function decideChecked(decision) {
  const checked = rows.filter((row) => checkbox(row).checked);
  if (!checked.length) {
    toast('Check items first: x checks the selected one.', 'error');
    return;
  }
  const body = new URLSearchParams({ decision, note: bulkForm ? bulkForm.elements.note.value : '' });
  for (const row of checked) body.append('ids', row.dataset.id);
  checked.forEach((row) => row.classList.add('pending'));
  try {
    const { items } = await postForm(bulkForm.action, body);
    items.forEach(applyItem);
    for (const row of checked) {
      row.classList.remove('pending');
      checkbox(row).checked = false;
    }
    if (bulkForm) bulkForm.elements.note.value = '';
    updateBulk();
    toast(`${items.length} item${items.length === 1 ? '' : 's'} ${LABELS[decision]}.`);
  } catch (err) {
    checked.forEach((row) => row.classList.remove('pending'));
    toast(err.message, 'error');
  }
}

// The forms post through fetch when this script runs.
for (const row of rows) {
  const form = $('form.row-decide', row);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const decision = e.submitter && e.submitter.value;
    if (decision) decide(row, decision);
  });
}
if (bulkForm) {
  bulkForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const decision = e.submitter && e.submitter.value;
    if (decision) decideChecked(decision);
  });
}

// ------------------------------------------------------------- keyboard

let focusBeforeHelp = null;
function toggleHelp(show) {
  if (!help) return;
  const open = show == null ? help.hidden : show;
  if (open === !help.hidden) return;
  if (open) {
    focusBeforeHelp = document.activeElement;
    help.hidden = false;
    $('#review-help-close').focus();
  } else {
    // Focus must leave the help before it hides, or keys would go to its button.
    if (help.contains(document.activeElement)) document.activeElement.blur();
    help.hidden = true;
    if (focusBeforeHelp && focusBeforeHelp !== document.body && focusBeforeHelp.isConnected) focusBeforeHelp.focus();
    focusBeforeHelp = null;
  }
}
const helpClose = $('#review-help-close');
if (helpClose) helpClose.addEventListener('click', () => toggleHelp(false));

function typing(target) {
  return target instanceof HTMLElement
    && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))
    && target.type !== 'checkbox';
}

document.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
  const target = e.target;

  // In a note: Escape or Enter goes back to the list, keeping the text.
  if (target instanceof HTMLElement && target.matches('[data-testid=review-note]')) {
    if (e.key === 'Escape' || e.key === 'Enter') {
      e.preventDefault();
      target.blur();
    }
    return;
  }
  if (e.key === 'Escape') {
    if (help && !help.hidden) { e.preventDefault(); toggleHelp(false); }
    else if (typing(target)) target.blur();
    return;
  }
  if (typing(target)) return;
  if (e.key === '?') { e.preventDefault(); toggleHelp(); return; }
  if (!rows.length) return;

  const row = selected();
  // Caps Lock must not turn c into a bulk decision: Shift decides that.
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  if ((key === 'c' || key === 'o') && e.shiftKey) {
    e.preventDefault();
    decideChecked(key === 'c' ? 'confirm' : 'overturn');
    return;
  }
  switch (key) {
    case 'j':
    case 'ArrowDown':
      e.preventDefault();
      select(current + 1);
      break;
    case 'k':
    case 'ArrowUp':
      e.preventDefault();
      select(current - 1);
      break;
    case 'c':
    case 'o':
      if (!row) return;
      e.preventDefault();
      decide(row, key === 'c' ? 'confirm' : 'overturn');
      select(current + 1);
      break;
    case 'n':
      if (!row) return;
      e.preventDefault();
      noteInput(row).focus();
      break;
    case 'x':
      if (!row) return;
      e.preventDefault();
      toggleChecked(row);
      break;
    case 'Enter':
      if (!row || (target instanceof HTMLElement && target.closest('a, button'))) return;
      e.preventDefault();
      window.location.assign(row.dataset.detailUrl);
      break;
    default:
  }
});

// A note field's row becomes the selected one.
for (const row of rows) {
  noteInput(row).addEventListener('focus', () => {
    const index = rows.indexOf(row);
    if (current !== index) select(index, false);
  });
}

updateBulk();
if (rows.length) select(0, false);
