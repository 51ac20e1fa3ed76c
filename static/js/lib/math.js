/* Formulas in rendered Markdown: core.markdown leaves each one's TeX as
   text in a `.math` element (`math-inline` or `math-display`); KaTeX,
   served from /static/vendor/katex/ (vendor/package.json), typesets it in
   place. KaTeX builds its nodes with the DOM and sets their styles through
   element.style, which the Content-Security-Policy allows (an HTML string
   with style= attributes it would refuse). `trust: false` refuses \href,
   \url, \includegraphics and friends. A formula KaTeX cannot parse shows
   its source, marked, with the reason on hover: KaTeX's own error output
   (throwOnError: false) writes a style= attribute, which the policy
   refuses. */
import { h } from './dom.js';

const KATEX = new URL('../../vendor/katex/', import.meta.url);
let katex = null;

function loadKatex() {
  if (!katex) {
    document.head.append(h('link', { rel: 'stylesheet', href: new URL('katex.min.css', KATEX).href }));
    katex = import(new URL('katex.mjs', KATEX).href).then((module) => module.default);
  }
  return katex;
}

/** Typesets every `.math` element inside `root` not done yet. */
export async function renderMath(root) {
  const pending = [...root.querySelectorAll('.math:not([data-tex])')];
  if (!pending.length) return;
  const { render, ParseError } = await loadKatex();
  for (const el of pending) {
    const tex = el.textContent;
    el.dataset.tex = tex;  // the source, for copying and for the tests
    el.textContent = '';
    try {
      render(tex, el, {
        displayMode: el.classList.contains('math-display'),
        throwOnError: true,
        trust: false,
        strict: 'ignore',
        maxSize: 20,
        maxExpand: 500,
        output: 'htmlAndMathml',
      });
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      el.replaceChildren(h('code', { class: 'katex-error', title: error.message }, tex));
    }
  }
}
