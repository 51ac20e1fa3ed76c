/* The top bar's menus: under 820 px the whole navigation folds behind the
   Menu button, and at any width the grouped links (Data, Admin) open from
   their own buttons. Each button says whether it is open (aria-expanded)
   and the CSS shows its panel by that attribute; the links follow their
   button, so Tab reaches them next. Escape or a click elsewhere closes
   what is open, and Escape gives focus back to the button. */
import { $, $$ } from './lib/dom.js';

const bar = $('header.topbar');
const toggles = bar ? $$('.nav-toggle, .navmenu-button', bar) : [];
const isGroup = (button) => button.classList.contains('navmenu-button');
const isOpen = (button) => button.getAttribute('aria-expanded') === 'true';
const setOpen = (button, open) => button.setAttribute('aria-expanded', String(open));

for (const button of toggles) {
  button.addEventListener('click', () => {
    const open = !isOpen(button);
    // One group at a time; the phone menu stays open around its groups.
    for (const other of toggles) {
      if (other !== button && (isGroup(button) ? isGroup(other) : true)) setOpen(other, false);
    }
    setOpen(button, open);
  });
}

document.addEventListener('click', (event) => {
  if (bar && !bar.contains(event.target)) toggles.forEach((button) => setOpen(button, false));
});

document.addEventListener('keydown', (event) => {
  const open = toggles.filter(isOpen);
  if (event.key !== 'Escape' || !open.length) return;
  // The innermost first: a group inside the phone menu, then the menu.
  const innermost = open.find(isGroup) || open[0];
  setOpen(innermost, false);
  innermost.focus();
});
