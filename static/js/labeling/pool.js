/* The Datasets page (the admin's prompt pool). One form holds the checked
   prompts and two submits; "Make demonstration tasks" skips the browser's
   checks (formnovalidate) so the generation-only inputs cannot block it,
   and here it checks the inputs it does use. Generations still queued or
   running are followed by polling this same page and swapping in its
   table, until none is left to follow. */
const POLL_MS = 3000;
const ACTIVE = ['queued', 'running'];

function checkOwnFields(form, button) {
  button.addEventListener('click', (event) => {
    const own = Array.from(form.elements).filter((el) => !el.closest('[data-only=generation]'));
    const invalid = own.find((el) => el.willValidate && !el.checkValidity());
    if (invalid) {
      event.preventDefault();
      invalid.reportValidity();
    }
  });
}

function hasActive(table) {
  return Array.from(table.querySelectorAll('[data-testid=lab-generation]'))
    .some((row) => ACTIVE.includes(row.dataset.state));
}

function followGenerations(table) {
  if (!hasActive(table)) return;
  table.dataset.live = 'true';
  const timer = setInterval(async () => {
    let html;
    try {
      const res = await fetch(location.href, { credentials: 'same-origin' });
      if (!res.ok) return;
      html = await res.text();
    } catch {
      return; // offline for a moment: the next tick tries again
    }
    const fresh = new DOMParser().parseFromString(html, 'text/html').querySelector('[data-testid=lab-generations] tbody');
    if (fresh) table.tBodies[0].replaceWith(document.adoptNode(fresh));
    if (!hasActive(table)) {
      clearInterval(timer);
      table.dataset.live = 'false';
    }
  }, POLL_MS);
}

const form = document.getElementById('lab-pool-form');
const demonstrations = document.querySelector('[data-testid=lab-make-demonstrations]');
if (form && demonstrations) checkOwnFields(form, demonstrations);
const generations = document.querySelector('[data-testid=lab-generations]');
if (generations) followGenerations(generations);
