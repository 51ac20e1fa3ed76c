/* Mermaid, inside the sandboxed frame static/diagram-frame.html: the page
   sends a diagram's source, this frame lays it out and answers with the SVG
   text (or the error), which the page shows as an <img>.

   Why a frame: Mermaid lays a diagram out in a live document, writing
   `style` attributes and a <style> element as it goes, and the pages'
   Content-Security-Policy refuses both (style-src 'self'). This document
   alone allows inline styles (core/static_headers.py), and it runs in an
   opaque origin (sandbox without allow-same-origin): no cookies, no access
   to the page, and Mermaid's own securityLevel "strict" on top (no click
   callbacks, labels sanitized). What comes back is only ever drawn as an
   image, where no script runs. */
import mermaid from '../../vendor/mermaid/mermaid.esm.min.mjs';

let serial = 0;
let queue = Promise.resolve();

async function draw(source, theme) {
  mermaid.initialize({
    startOnLoad: false,
    securityLevel: 'strict',
    theme: theme === 'dark' ? 'dark' : 'default',
    // Labels as SVG text: HTML labels are <foreignObject>s, which an SVG
    // shown as an image does not draw everywhere.
    htmlLabels: false,
    flowchart: { htmlLabels: false },
  });
  serial += 1;
  const { svg } = await mermaid.render(`diagram-${serial}`, source);
  // Mermaid sizes the picture to its container (width 100%); as an image it
  // should have its own size, which the page then only ever shrinks.
  const root = new DOMParser().parseFromString(svg, 'image/svg+xml').documentElement;
  const [, , width, height] = (root.getAttribute('viewBox') || '').split(/[\s,]+/).map(Number);
  if (width > 0 && height > 0) {
    root.setAttribute('width', String(Math.ceil(width)));
    root.setAttribute('height', String(Math.ceil(height)));
  }
  return new XMLSerializer().serializeToString(root);
}

window.addEventListener('message', (event) => {
  if (event.source !== window.parent) return;
  const { id, source, theme } = event.data || {};
  if (typeof id !== 'number' || typeof source !== 'string') return;
  // One diagram at a time: Mermaid keeps state between renders.
  queue = queue.then(async () => {
    try {
      window.parent.postMessage({ id, svg: await draw(source, theme) }, '*');
    } catch (error) {
      window.parent.postMessage({ id, error: String((error && error.message) || error) }, '*');
    }
  });
});

window.parent.postMessage({ ready: true }, '*');
