/* Ranking K answers, by keyboard alone or by drag and drop.

   The ranking is a list of groups, best first; the answers of a group are
   tied. Keys: j/k or arrows focus, u/d or Shift(or Alt)+arrows move, t ties
   with the group above (again: unties), 1-5 flag, e folds, n none
   acceptable, b better answer, s skip, Enter or Ctrl+Enter submit.
   Dragging drops an answer as its own group before or after the answer it
   is dropped on. On submit the groups and flags go into the form's hidden
   fields; the server checks them (labeling.assignments.ranking_submit). */
import { $, $$ } from '../lib/dom.js';

function setUpRanking(form, list) {
  const groupsInput = $('#lab-groups');
  const flagsInput = $('#lab-flags');
  const none = $('#lab-none');
  const better = $('#lab-better');
  const betterDetails = $('#lab-better-details');
  const skipReason = $('#lab-skip-reason');
  const announcer = $('#lab-announce');

  // The state: groups of candidate elements, best first.
  let groups = $$('.lab-candidate', list).map((el) => [el]);
  let focused = groups[0][0];

  const flat = () => groups.flat();
  const groupOf = (el) => groups.findIndex((group) => group.includes(el));
  const label = (el) => $('.lab-letter', el).textContent;

  function announce(text) {
    if (announcer) announcer.textContent = text;
  }

  /** Redraws the list from `groups`, moving the existing elements (so
      checkboxes and scroll state stay). */
  function render() {
    const items = groups.map((group, index) => {
      const li = document.createElement('li');
      li.className = 'lab-group' + (group.length > 1 ? ' lab-tied' : '');
      li.setAttribute('data-testid', 'lab-group');
      const rank = document.createElement('span');
      rank.className = 'lab-rank';
      rank.setAttribute('aria-hidden', 'true');
      rank.textContent = String(index + 1);
      const members = document.createElement('div');
      members.className = 'lab-group-members';
      for (const el of group) {
        el.dataset.rank = String(index + 1);
        el.setAttribute('aria-label', `${label(el)}, place ${index + 1}` + (group.length > 1 ? ' (tied)' : ''));
        members.append(el);
      }
      li.append(rank, members);
      return li;
    });
    list.replaceChildren(...items);
    groupsInput.value = JSON.stringify(groups.map((group) => group.map((el) => Number(el.dataset.id))));
    focus(focused, false);
  }

  function focus(el, scroll = true) {
    if (!el) return;
    for (const other of flat()) other.classList.toggle('lab-focused', other === el);
    focused = el;
    el.focus({ preventScroll: !scroll });
    if (scroll) el.scrollIntoView({ block: 'nearest' });
  }

  function step(delta) {
    const order = flat();
    focus(order[Math.max(0, Math.min(order.length - 1, order.indexOf(focused) + delta))]);
  }

  /** Up: out of a tied group to just above it, or above the group above. */
  function move(el, delta) {
    const g = groupOf(el);
    if (groups[g].length > 1) {
      groups[g] = groups[g].filter((x) => x !== el);
      groups.splice(delta < 0 ? g : g + 1, 0, [el]);
    } else {
      const to = g + delta;
      if (to < 0 || to >= groups.length) return;
      [groups[g], groups[to]] = [groups[to], groups[g]];
    }
    render();
    announce(`${label(el)} moved to place ${groupOf(el) + 1}`);
  }

  /** Ties the element with the group above, or unties it: it then stands
      alone just below its former group. */
  function tie(el) {
    const g = groupOf(el);
    if (groups[g].length > 1) {
      groups[g] = groups[g].filter((x) => x !== el);
      groups.splice(g + 1, 0, [el]);
      announce(`${label(el)} untied`);
    } else if (g > 0) {
      groups[g - 1].push(el);
      groups.splice(g, 1);
      announce(`${label(el)} tied with place ${g}`);
    } else {
      return;
    }
    render();
  }

  function flag(el, number) {
    const box = $$('input[data-flag]', el)[number - 1];
    if (!box) return;
    box.checked = !box.checked;
    box.dispatchEvent(new Event('change', { bubbles: true }));
  }

  function expand(el) {
    const text = $('.lab-long', el);
    if (!text) return;
    const collapsed = text.classList.toggle('lab-collapsed');
    const button = $('.lab-expand', el);
    if (button) {
      button.setAttribute('aria-expanded', String(!collapsed));
      button.textContent = collapsed ? 'Show all (e)' : 'Fold (e)';
    }
  }

  function flags() {
    const marks = {};
    for (const el of flat()) {
      const names = $$('input[data-flag]:checked', el).map((box) => box.dataset.flag);
      if (names.length) marks[el.dataset.id] = names;
    }
    return marks;
  }

  form.addEventListener('submit', () => {
    groupsInput.value = JSON.stringify(groups.map((group) => group.map((el) => Number(el.dataset.id))));
    flagsInput.value = JSON.stringify(flags());
  });

  list.addEventListener('change', (event) => {
    const box = event.target.closest('input[data-flag]');
    if (box) box.closest('.lab-candidate').classList.toggle('lab-flagged', !!$('input[data-flag]:checked', box.closest('.lab-candidate')));
  });

  list.addEventListener('click', (event) => {
    const el = event.target.closest('.lab-candidate');
    if (!el) return;
    const button = event.target.closest('button[data-action]');
    if (button) {
      const action = button.dataset.action;
      focused = el;
      if (action === 'up') move(el, -1);
      else if (action === 'down') move(el, 1);
      else if (action === 'tie') tie(el);
      else if (action === 'expand') expand(el);
      return;
    }
    if (!event.target.closest('input, label, a')) focus(el, false);
  });

  // ------------------------------------------------------------- keyboard

  const typing = (target) => target.closest('input:not([type=checkbox]), textarea, select, [contenteditable]');

  document.addEventListener('keydown', (event) => {
    const { key } = event;
    if (key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
      return;
    }
    if (typing(event.target)) {
      if (key === 'Escape') {
        event.target.blur();
        focus(focused);
      }
      return;
    }
    if (event.ctrlKey || event.metaKey) return;
    const shifted = event.shiftKey || event.altKey;
    let handled = true;
    if (key === 'ArrowDown' && shifted) move(focused, 1);
    else if (key === 'ArrowUp' && shifted) move(focused, -1);
    else if (key === 'j' || key === 'ArrowDown') step(1);
    else if (key === 'k' || key === 'ArrowUp') step(-1);
    else if (key === 'd') move(focused, 1);
    else if (key === 'u') move(focused, -1);
    else if (key === 't') tie(focused);
    else if (key === 'e') expand(focused);
    else if (/^[1-9]$/.test(key)) flag(focused, Number(key));
    else if (key === 'n') { none.checked = !none.checked; announce(none.checked ? 'None is acceptable' : 'Some answer is acceptable'); }
    else if (key === 'b') { betterDetails.open = true; better.focus(); }
    else if (key === 's') skipReason.focus();
    else if (key === 'Enter' && !event.target.closest('button, a, summary')) form.requestSubmit();
    else handled = false;
    if (handled) event.preventDefault();
  });

  // -------------------------------------------------------- drag and drop

  let dragged = null;

  function clearDropMarks() {
    for (const el of flat()) el.classList.remove('lab-drop-before', 'lab-drop-after');
  }

  function dropPlace(event) {
    const target = event.target.closest('.lab-candidate');
    if (!target || target === dragged) return null;
    const box = target.getBoundingClientRect();
    return { target, before: event.clientY < box.top + box.height / 2 };
  }

  list.addEventListener('dragstart', (event) => {
    dragged = event.target.closest('.lab-candidate');
    if (!dragged) return;
    event.dataTransfer.effectAllowed = 'move';
    event.dataTransfer.setData('text/plain', dragged.dataset.id);
    dragged.classList.add('lab-dragging');
  });

  list.addEventListener('dragover', (event) => {
    if (!dragged) return;
    const place = dropPlace(event);
    clearDropMarks();
    if (!place) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'move';
    place.target.classList.add(place.before ? 'lab-drop-before' : 'lab-drop-after');
  });

  list.addEventListener('drop', (event) => {
    if (!dragged) return;
    const place = dropPlace(event);
    clearDropMarks();
    if (!place) return;
    event.preventDefault();
    groups = groups.map((group) => group.filter((el) => el !== dragged)).filter((group) => group.length);
    const g = groupOf(place.target);
    groups.splice(place.before ? g : g + 1, 0, [dragged]);
    focused = dragged;
    render();
    announce(`${label(dragged)} moved to place ${groupOf(dragged) + 1}`);
  });

  list.addEventListener('dragend', () => {
    if (dragged) dragged.classList.remove('lab-dragging');
    dragged = null;
    clearDropMarks();
  });

  render();
  focus(focused, false);
}

const form = $('#lab-rank-form');
const list = $('#lab-ranking');
if (form && list) setUpRanking(form, list);
