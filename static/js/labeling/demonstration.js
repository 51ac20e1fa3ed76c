/* Writing a demonstration: a live preview of the answer, rendered by the
   server (core.markdown, sanitized) and dressed as chat answers are
   (lib/markdown.js, app.css's `.md`), so it shows exactly what the chat and
   the exports will; Ctrl+Enter submits. */
import { postForm } from '../lib/http.js';
import { enhanceMarkdown } from '../lib/markdown.js';

function setUpPreview(form, answer, preview) {
  let timer = null;
  let sent = 0;

  async function render() {
    const number = ++sent;
    const body = new FormData();
    body.append('text', answer.value);
    let html = null;
    try {
      html = (await postForm(form.dataset.previewUrl, body)).html;
    } catch { /* offline or refused: keep the last preview */ }
    if (number !== sent) return;  // a newer request is on its way
    if (html === null) {
      preview.classList.add('stale');
      return;
    }
    preview.classList.remove('stale');
    preview.innerHTML = html;  // sanitized HTML from the server
    enhanceMarkdown(preview);  // code blocks and tables as in the chat
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
}

const form = document.getElementById('lab-demo-form');
const answer = document.getElementById('lab-answer');
const preview = document.getElementById('lab-preview');
if (form && answer && preview) setUpPreview(form, answer, preview);
