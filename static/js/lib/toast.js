/* A short-lived notice in a page's `role=status` region: one at a time,
   it fades after 2.6 s and is gone at 3 s. */
import { h } from './dom.js';

/** A `toast(text, kind)` function writing into `region` ('' or 'error'). */
export function toaster(region) {
  let timer = null;
  return function toast(text, kind = '') {
    if (!region) return;
    const t = h('div', { class: 'toast' + (kind ? ' ' + kind : '') }, text);
    region.replaceChildren(t);
    clearTimeout(timer);
    timer = setTimeout(() => t.classList.add('leaving'), 2600);
    setTimeout(() => { if (t.isConnected) t.remove(); }, 3000);
  };
}
