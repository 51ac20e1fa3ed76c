/* The colour theme: Light, Dark, or System (the device's setting), chosen
   with the top bar's button and remembered in this browser (localStorage)
   and, for a signed-in user, on their account (POST /accounts/theme/; the
   page carries the saved choice as <html data-theme-saved>; once they have
   chosen, it wins over this browser's, so it follows them everywhere).
   A classic script in <head>, not a module: it runs before the first paint,
   so a dark page never flashes light. It sets <html data-theme="light|dark">,
   the attribute app.css's colour tokens follow, follows the device while
   the choice is System, and tells the page when the theme changed (a
   `themechange` event on document: diagrams are drawn again). */
(function () {
  'use strict';
  var KEY = 'chatsite-theme';
  var CHOICES = ['system', 'light', 'dark'];
  var LABELS = { system: 'System', light: 'Light', dark: 'Dark' };
  var root = document.documentElement;
  var dark = window.matchMedia('(prefers-color-scheme: dark)');

  function remember(choice) {
    try { window.localStorage.setItem(KEY, choice); } catch (error) { /* kept for this page only */ }
  }

  function stored() {
    try {
      var value = window.localStorage.getItem(KEY);
      return CHOICES.indexOf(value) >= 0 ? value : 'system';
    } catch (error) {
      return 'system';  // storage blocked: the device decides
    }
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : '';
  }

  function saveOnAccount(choice) {
    var url = root.dataset.themeUrl;
    if (!url) return;  // signed out: this browser only
    fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'X-CSRFToken': csrfToken(), Accept: 'application/json' },
      body: new URLSearchParams({ theme: choice }),
    }).catch(function () { /* offline: this browser keeps it */ });
  }

  // The account's choice, when signed in, becomes this browser's too.
  if (CHOICES.indexOf(root.dataset.themeSaved) >= 0) remember(root.dataset.themeSaved);

  function apply(choice) {
    var theme = choice === 'system' ? (dark.matches ? 'dark' : 'light') : choice;
    var changed = root.dataset.theme && root.dataset.theme !== theme;
    root.dataset.theme = theme;
    root.dataset.themeChoice = choice;
    var button = document.querySelector('[data-testid="theme-toggle"]');
    if (button) {
      button.querySelector('.theme-name').textContent = LABELS[choice];
      button.setAttribute('aria-label', 'Theme: ' + LABELS[choice] + '. Change theme');
    }
    if (changed) document.dispatchEvent(new CustomEvent('themechange', { detail: { theme: theme } }));
  }

  apply(stored());
  dark.addEventListener('change', function () { apply(root.dataset.themeChoice); });
  // Another tab changed it: follow.
  window.addEventListener('storage', function (event) { if (event.key === KEY) apply(stored()); });

  document.addEventListener('DOMContentLoaded', function () {
    var button = document.querySelector('[data-testid="theme-toggle"]');
    if (!button) return;
    apply(stored());
    button.addEventListener('click', function () {
      var next = CHOICES[(CHOICES.indexOf(root.dataset.themeChoice) + 1) % CHOICES.length];
      remember(next);
      apply(next);
      saveOnAccount(next);
    });
  });
})();
