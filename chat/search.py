"""Matching a search in chat text, alike in the database and in Python: the
case-folding expression the query filters on, and the parts of a text
around its first match that the sidebar shows (the match marked).

Case is folded with `str.lower` everywhere: PostgreSQL's LOWER does the
same under a UTF-8 ctype, while SQLite's LIKE and LOWER fold ASCII only,
so "ПРИВЕТ" would not find "привет" there; on SQLite the expression calls
Python's instead. The snippet is found again with the same folding, so
what the database matched is what the page marks."""

import re
import unicodedata

from django.db.models import Func, TextField

# Characters either side of the match a snippet keeps, at most; it is cut
# back to a word boundary where the text has one.
SNIPPET_CONTEXT_CHARS = 60
ELLIPSIS = "…"
_SPACE = re.compile(r"\s+")
_ZERO_WIDTH_JOINER = "\u200d"


def _lower(text):
    return None if text is None else text.lower()


class Folded(Func):
    """A text column lowercased in every script, for `__contains` with a
    query folded by `fold`."""

    function = "LOWER"
    output_field = TextField()

    def as_sqlite(self, compiler, connection, **extra_context):
        # Registered on the connection the query runs on: a function the
        # connection_created signal registered would miss connections
        # opened before this module was first imported.
        connection.ensure_connection()
        connection.connection.create_function("chat_lower", 1, _lower, deterministic=True)
        return self.as_sql(compiler, connection, function="chat_lower", **extra_context)


def fold(query: str) -> str:
    return query.lower()


def match_parts(text: str, query: str) -> dict | None:
    """The whole of `text` as {"before", "match", "after"} around the first
    case-insensitive match of `query`, or None when it does not occur."""
    span = _find(text, query)
    if span is None:
        return None
    start, end = span
    return {"before": text[:start], "match": text[start:end], "after": text[end:]}


def snippet(text: str, query: str, context: int = SNIPPET_CONTEXT_CHARS) -> dict | None:
    """`match_parts` cut to `context` characters either side of the match,
    on a word boundary when the cut-off part has one (and never inside a
    character made of several code points: an accent, a joined emoji),
    with an ellipsis where text was left out; runs of whitespace, line
    breaks included, read as one space."""
    span = _find(text, query)
    if span is None:
        return None
    start, end = span
    begin = _cluster_start(text, max(0, start - context))
    if begin > 0 and not text[begin - 1].isspace():
        space = _SPACE.search(text, begin, start)
        if space:
            begin = space.end()
    finish = _cluster_end(text, min(len(text), end + context))
    if finish < len(text) and not text[finish].isspace():
        spaces = list(_SPACE.finditer(text, end, finish))
        if spaces:
            finish = spaces[-1].start()
    before = _SPACE.sub(" ", text[begin:start])
    after = _SPACE.sub(" ", text[end:finish])
    return {
        "before": (ELLIPSIS if begin > 0 else "") + (before.lstrip() if begin == 0 else before),
        "match": _SPACE.sub(" ", text[start:end]),
        "after": (after.rstrip() if finish == len(text) else after) + (ELLIPSIS if finish < len(text) else ""),
    }


def _find(text: str, query: str) -> tuple[int, int] | None:
    """Where `query` first occurs in `text`, ignoring case, as indexes into
    `text`: folding may lengthen a character ("İ" lowercases to two), so
    each folded character remembers the one it came from."""
    needle = fold(query)
    if not needle:
        return None
    origin = []
    folded = []
    for index, character in enumerate(text):
        lowered = character.lower()
        folded.append(lowered)
        origin.extend([index] * len(lowered))
    at = "".join(folded).find(needle)
    if at < 0:
        return None
    return origin[at], origin[at + len(needle) - 1] + 1


def _joins_previous(character: str) -> bool:
    """A code point drawn together with the one before it: a combining
    accent, a variation selector, a skin tone, a joiner."""
    return (
        unicodedata.combining(character) > 0
        or unicodedata.category(character) in ("Mn", "Me")
        or "\ufe00" <= character <= "\ufe0f"
        or "\U0001f3fb" <= character <= "\U0001f3ff"
        or character == _ZERO_WIDTH_JOINER
    )


def _cluster_start(text: str, index: int) -> int:
    """`index`, moved back to the start of the character it falls in."""
    while 0 < index < len(text) and (_joins_previous(text[index]) or text[index - 1] == _ZERO_WIDTH_JOINER):
        index -= 1
    return index


def _cluster_end(text: str, index: int) -> int:
    """`index`, moved on past the end of the character it falls in."""
    while 0 < index < len(text) and (_joins_previous(text[index]) or text[index - 1] == _ZERO_WIDTH_JOINER):
        index += 1
    return index
