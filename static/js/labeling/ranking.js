/* Ranking K answers, by keyboard alone or by drag and drop.

   The ranking is a list of groups, best first; the answers of a group are
   tied. Keys: j/k or arrows focus, u/d or Shift(or Alt)+arrows move, t ties
   with the group above (again: unties), 1-5 flag, e folds, n none
   acceptable, b better answer, s skip, Enter or Ctrl+Enter submit.
   Dragging the grip, by mouse or by finger, drops an answer as its own
   group before or after the answer it is dropped on. On submit the groups
   and flags go into the form's hidden fields; the server checks them
   (labeling.assignments.ranking_submit). */
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
  // "cut off at the length limit", said with the answer's place.
  const finish = (el) => { const mark = $('[data-testid=lab-cut-off]', el); return mark ? `, ${mark.textContent.toLowerCase()}` : ''; };

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
        el.setAttribute('aria-label', `${label(el)}, place ${index + 1}` + (group.length > 1 ? ' (tied)' : '') + finish(el));
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

  // ------------------------------------------- dragging, by mouse or finger

  // Pointer Events, so a mouse, a pen and a finger share one path. Only
  // the grip has touch-action: none (labeling.css): a finger anywhere else
  // still scrolls the page. The dragged answer follows the pointer; near
  // the top or bottom of the screen the page scrolls on its own, so a
  // place out of view can be reached on a phone.
  const DRAG_THRESHOLD = 4;  // px before a press on the grip is a drag
  const EDGE = 72;  // px from the screen's edge where the page scrolls
  let drag = null;  // {el, pointerId, startY, startScroll, y, moved, place, frame}

  function clearDropMarks() {
    for (const el of flat()) el.classList.remove('lab-drop-before', 'lab-drop-after');
  }

  /** Where the dragged answer lands for a pointer at height `y`: before
      the first other answer whose middle is below it, else after the
      last. From the answers' boxes rather than the element under the
      pointer, so the gaps between answers and the dragged one itself
      (under the finger) count too. */
  function dropPlace(y) {
    const others = flat().filter((el) => el !== drag.el);
    const below = others.find((el) => {
      const box = el.getBoundingClientRect();
      return y < box.top + box.height / 2;
    });
    return below ? { target: below, before: true } : { target: others[others.length - 1], before: false };
  }

  function follow() {
    const offset = drag.y - drag.startY + (window.scrollY - drag.startScroll);
    drag.el.style.transform = `translateY(${offset}px)`;
    drag.place = dropPlace(drag.y);
    clearDropMarks();
    drag.place.target.classList.add(drag.place.before ? 'lab-drop-before' : 'lab-drop-after');
  }

  function autoScroll() {
    if (!drag) return;
    const speed = drag.y < EDGE ? -(EDGE - drag.y) : drag.y > innerHeight - EDGE ? drag.y - (innerHeight - EDGE) : 0;
    if (drag.moved && speed) {
      const before = window.scrollY;
      window.scrollBy(0, Math.round(speed / 4));
      if (window.scrollY !== before) follow();
    }
    drag.frame = requestAnimationFrame(autoScroll);
  }

  function endDrag(drop) {
    if (!drag) return;
    const { el, place, moved, frame } = drag;
    cancelAnimationFrame(frame);
    drag = null;
    el.classList.remove('lab-dragging');
    el.style.transform = '';
    clearDropMarks();
    if (!drop || !moved || !place) return;
    groups = groups.map((group) => group.filter((x) => x !== el)).filter((group) => group.length);
    const g = groupOf(place.target);
    groups.splice(place.before ? g : g + 1, 0, [el]);
    focused = el;
    render();
    announce(`${label(el)} moved to place ${groupOf(el) + 1}`);
  }

  list.addEventListener('pointerdown', (event) => {
    const grip = event.target.closest('.lab-grip');
    if (!grip || drag || (event.pointerType === 'mouse' && event.button !== 0)) return;
    event.preventDefault();  // no text selection while dragging
    grip.setPointerCapture(event.pointerId);
    const el = grip.closest('.lab-candidate');
    drag = {
      el, pointerId: event.pointerId, startY: event.clientY, startScroll: window.scrollY,
      y: event.clientY, moved: false, place: null, frame: 0,
    };
    drag.frame = requestAnimationFrame(autoScroll);
  });

  list.addEventListener('pointermove', (event) => {
    if (!drag || event.pointerId !== drag.pointerId) return;
    drag.y = event.clientY;
    if (!drag.moved && Math.abs(drag.y - drag.startY) < DRAG_THRESHOLD) return;
    if (!drag.moved) {
      drag.moved = true;
      drag.el.classList.add('lab-dragging');
      focus(drag.el, false);
    }
    follow();
  });

  list.addEventListener('pointerup', (event) => {
    if (drag && event.pointerId === drag.pointerId) endDrag(true);
  });
  list.addEventListener('pointercancel', (event) => {
    if (drag && event.pointerId === drag.pointerId) endDrag(false);
  });
  document.addEventListener('keydown', (event) => {
    if (drag && event.key === 'Escape') {
      event.stopImmediatePropagation();
      endDrag(false);
    }
  }, true);

  render();
  focus(focused, false);
}

/** The shortcuts card starts open where there is a keyboard and room (a
    wide screen with a fine pointer) and folded on a phone, where it would
    push the answers off screen; the annotator's own choice is kept. */
function setUpShortcuts(card) {
  const saved = localStorage.getItem('lab-keys-open');
  card.open = saved === null ? matchMedia('(min-width: 901px) and (pointer: fine)').matches : saved === '1';
  // A click on the summary is the annotator's; `toggle` would also fire for the line above.
  $('summary', card).addEventListener('click', () => localStorage.setItem('lab-keys-open', card.open ? '0' : '1'));
}

const shortcuts = $('#lab-keys');
if (shortcuts) setUpShortcuts(shortcuts);
const form = $('#lab-rank-form');
const list = $('#lab-ranking');
if (form && list) setUpRanking(form, list);
