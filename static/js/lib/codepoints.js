/* Text lengths and offsets in Unicode code points, as Python's len() and
   the server's delta offsets count them. */

export function cpLen(s) {
  if (!s) return 0;
  const pairs = s.match(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g);
  return s.length - (pairs ? pairs.length : 0);
}

/** `s` without its first `n` code points. */
export function cpSkip(s, n) {
  let i = 0;
  for (let c = 0; c < n && i < s.length; c++) {
    const code = s.charCodeAt(i);
    i += code >= 0xd800 && code <= 0xdbff && i + 1 < s.length ? 2 : 1;
  }
  return s.slice(i);
}
