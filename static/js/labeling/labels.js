/* Labelling one answer: the keyboard answers the scale in focus and moves
   on, so a whole answer is labelled without the mouse. 1–5 choose on a
   Likert scale, Y and N on a yes/no one; Ctrl+Enter submits. The radio
   buttons stay the form: without this script the page works the same by
   Tab, arrows and Space. */

const form = document.getElementById('lab-label-form');

function scaleOf(element) {
  return element instanceof Element ? element.closest('fieldset.lab-scale') : null;
}

function choose(fieldset, value) {
  const input = fieldset.querySelector(`input[type="radio"][value="${value}"]`);
  if (!input) return false;
  input.checked = true;
  const scales = [...form.querySelectorAll('fieldset.lab-scale')];
  const next = scales[scales.indexOf(fieldset) + 1];
  const target = next ? (next.querySelector('input:checked') || next.querySelector('input')) : form.querySelector('button[type="submit"]');
  target.focus();
  return true;
}

if (form) {
  form.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const fieldset = scaleOf(event.target);
    if (!fieldset) return;
    const key = event.key.toLowerCase();
    const value = fieldset.dataset.kind === 'flag' ? { y: 'yes', n: 'no' }[key] : key;
    if (value && choose(fieldset, value)) event.preventDefault();
  });
  // The first scale not yet answered takes the focus, ready for a digit.
  const first = [...form.querySelectorAll('fieldset.lab-scale')].find((f) => !f.querySelector('input:checked'));
  if (first) first.querySelector('input').focus({ preventScroll: true });
}
