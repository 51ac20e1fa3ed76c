/* What Markdown rendered by the server (core.markdown, sanitized) gets in
   the browser, wherever it shows (chat answers, the labeling pages): code
   blocks in a box naming their language with a Copy button, tables that
   scroll sideways in a bordered frame, links that open a new tab, formulas
   typeset (math.js) and Mermaid diagrams drawn (diagrams.js). Only complete
   answers come here (a streaming one is plain text), so a half-written
   formula never flickers. The look is app.css's `.md` rules, its one home. */
import { copyText } from './clipboard.js';
import { renderDiagrams } from './diagrams.js';
import { h } from './dom.js';
import { renderMath } from './math.js';

/** Enhances the rendered Markdown inside `root` (an element of class `md`). */
export function enhanceMarkdown(root) {
  for (const pre of root.querySelectorAll('pre')) {
    const code = pre.querySelector('code');
    const match = code && /(?:^|\s)language-([\w+#.-]+)/.exec(code.className);
    const lang = match ? match[1] : '';
    // No <svg> inside message content: the icon is a CSS mask.
    const copyBtn = h('button', { type: 'button', class: 'code-copy', 'aria-label': 'Copy code', title: 'Copy code' },
      h('span', {}, 'Copy'));
    copyBtn.addEventListener('click', async () => {
      const ok = await copyText((code || pre).textContent);
      copyBtn.lastChild.textContent = ok ? 'Copied' : 'Copy failed';
      setTimeout(() => { copyBtn.lastChild.textContent = 'Copy'; }, 1500);
    });
    const block = h('div', { class: 'code-block' });
    pre.replaceWith(block);
    block.append(h('div', { class: 'code-head' }, h('span', { class: 'code-lang' }, lang || 'code'), copyBtn), pre);
  }
  for (const table of root.querySelectorAll('table')) {
    const wrap = h('div', { class: 'table-wrap' });
    table.replaceWith(wrap);
    wrap.append(table);
  }
  for (const a of root.querySelectorAll('a[href]')) {
    a.target = '_blank';
    a.rel = 'noopener noreferrer nofollow';
  }
  renderMath(root);
  renderDiagrams(root);
}
