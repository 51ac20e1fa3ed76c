/* Writing a demonstration: a live preview of the answer, rendered by the
   server (core.markdown, sanitized) so it shows exactly what the chat and
   the exports will; Ctrl+Enter submits. */
(() => {
  'use strict';
  const form = document.getElementById('lab-demo-form');
  const answer = document.getElementById('lab-answer');
  const preview = document.getElementById('lab-preview');
  if (!form || !answer || !preview) return;
  const token = form.querySelector('input[name=csrfmiddlewaretoken]').value;
  let timer = null;
  let sent = 0;

  async function render() {
    const number = ++sent;
    const body = new FormData();
    body.append('text', answer.value);
    let html = null;
    try {
      const res = await fetch(form.dataset.previewUrl, {
        method: 'POST', credentials: 'same-origin', headers: { 'X-CSRFToken': token, Accept: 'application/json' }, body,
      });
      const data = await res.json();
      html = res.ok ? data.html : null;
    } catch { /* offline: keep the last preview */ }
    if (number !== sent) return;  // a newer request is on its way
    if (html === null) {
      preview.classList.add('stale');
      return;
    }
    preview.classList.remove('stale');
    preview.innerHTML = html;  // sanitized HTML from the server
    preview.dataset.rendered = String(number);
  }

  answer.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(render, 200);
  });
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey) && document.activeElement === answer) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
})();
