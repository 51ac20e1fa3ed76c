/* Same-origin requests with Django's CSRF token. An answer that is not OK
   throws an Error carrying the server's `error` message and the status. */

/** The CSRF token: the cookie (CSRF_COOKIE_HTTPONLY is off for this), else
    a form's hidden input. */
function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (m) return decodeURIComponent(m[1]);
  const input = document.querySelector('input[name=csrfmiddlewaretoken]');
  return input ? input.value : '';
}

const signedOutListeners = new Set();

/** `listener()` runs when a request answers 401: the session has ended. */
export function onSignedOut(listener) {
  signedOutListeners.add(listener);
}

async function answer(res, fallback) {
  let data = null;
  try { data = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) {
    const err = new Error((data && data.error) || fallback(res));
    err.status = res.status;
    if (res.status === 401) for (const listener of signedOutListeners) listener();
    throw err;
  }
  return data;
}

/** A JSON request (`body` sent as JSON when given); resolves to the JSON answer. */
export async function api(method, url, body) {
  const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (method !== 'GET') opts.headers['X-CSRFToken'] = csrfToken();
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  return answer(await fetch(url, opts), (res) => `The request failed (${res.status}).`);
}

/** Posts a page's own form fields (URLSearchParams or FormData) and resolves
    to the JSON answer. A redirect is not followed: it means the login page,
    so the session ended or lacks the role. */
export async function postForm(url, body) {
  const res = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    redirect: 'manual',
    headers: { Accept: 'application/json', 'X-CSRFToken': csrfToken() },
    body,
  });
  return answer(res, (r) => (r.type === 'opaqueredirect' || r.status === 403
    ? 'Your session ended or lacks the moderator role; reload the page.'
    : `The request failed (${r.status}).`));
}
