/* Tells the server the browser's time zone once, in the `tz` cookie, so the
   pages it renders show times in the reader's zone (accounts/timezones.py
   checks the name against the IANA database; an account's own choice in
   Settings comes first). Loaded on every page by base.html; the cookie is
   written only when it is missing or the zone changed (a laptop that
   travelled). Times drawn by scripts use the browser's zone already. The
   name goes unencoded: IANA names are letters, digits and / _ - +, all
   allowed in a cookie, and the server reads cookies undecoded. */
const COOKIE = 'tz';
const YEAR = 365 * 24 * 3600;

function current() {
  const pair = document.cookie.split('; ').find((item) => item.startsWith(`${COOKIE}=`));
  return pair ? pair.slice(COOKIE.length + 1) : null;
}

const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
if (zone && zone !== current()) {
  const secure = location.protocol === 'https:' ? '; secure' : '';
  document.cookie = `${COOKIE}=${zone}; path=/; max-age=${YEAR}; samesite=lax${secure}`;
}
