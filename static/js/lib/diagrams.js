/* Mermaid diagrams in rendered Markdown: a ```mermaid fence (core.markdown
   leaves it a code block, `code.language-mermaid`) is drawn as a picture
   above its code, which a button shows instead; a diagram Mermaid cannot
   read keeps its code on show, with Mermaid's message under it.

   Mermaid runs in a sandboxed frame (static/diagram-frame.html, see
   diagrams/frame.js for why), one per page, made on first use; it answers
   with SVG text, shown here as an <img> from a data: URL, where no script
   in it could run and its own <style> applies without the page's policy
   having to allow it. Diagrams are drawn again when the theme changes. */
import { h } from './dom.js';

const FRAME_URL = new URL('../../diagram-frame.html', import.meta.url).href;

let frame = null;
let ready = null;
let nextId = 0;
const waiting = new Map();  // request id -> resolve

function theFrame() {
  if (!ready) {
    frame = h('iframe', { class: 'diagram-frame', sandbox: 'allow-scripts', src: FRAME_URL, title: 'Diagram renderer', 'aria-hidden': 'true', tabindex: '-1' });
    ready = new Promise((resolve) => {
      window.addEventListener('message', (event) => {
        if (event.source !== frame.contentWindow || !event.data) return;
        if (event.data.ready) { resolve(); return; }
        const done = waiting.get(event.data.id);
        waiting.delete(event.data.id);
        if (done) done(event.data);
      });
    });
    document.body.append(frame);
  }
  return ready;
}

async function draw(source) {
  await theFrame();
  const id = ++nextId;
  const answer = new Promise((resolve) => waiting.set(id, resolve));
  frame.contentWindow.postMessage({ id, source, theme: document.documentElement.dataset.theme }, '*');
  return answer;
}

function svgImage(svg) {
  return h('img', { class: 'diagram-image', alt: 'Diagram', src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}` });
}

async function drawInto(block) {
  const code = block.querySelector('code.language-mermaid');
  const figure = block.querySelector('.diagram');
  const { svg, error } = await draw(code.textContent);
  block.querySelector('.diagram-error')?.remove();
  if (svg) {
    figure.replaceChildren(svgImage(svg));
    figure.hidden = false;
    block.classList.add('drawn');
  } else {
    figure.hidden = true;
    block.classList.remove('drawn');
    block.append(h('p', { class: 'diagram-error muted', testid: 'diagram-error' }, `The diagram could not be drawn: ${error}`));
  }
}

/** Draws each Mermaid code block (already in a `.code-block` box) inside
    `root`; the box gets a button between the picture and the code. */
export function renderDiagrams(root) {
  for (const code of root.querySelectorAll('.code-block:not(.diagram-block) code.language-mermaid')) {
    const block = code.closest('.code-block');
    block.classList.add('diagram-block');
    const figure = h('div', { class: 'diagram', testid: 'diagram', hidden: true });
    block.querySelector('pre').before(figure);
    const toggle = h('button', { type: 'button', class: 'code-copy diagram-toggle', testid: 'diagram-toggle' }, 'Code');
    toggle.addEventListener('click', () => {
      const showCode = block.classList.toggle('show-code');
      toggle.textContent = showCode ? 'Diagram' : 'Code';
    });
    block.querySelector('.code-head').insertBefore(toggle, block.querySelector('.code-copy'));
    drawInto(block);
  }
}

document.addEventListener('themechange', () => {
  for (const block of document.querySelectorAll('.diagram-block')) drawInto(block);
});
