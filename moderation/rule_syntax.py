"""What a moderation rule may say: its kinds, the directions it applies
to, and `compile_pattern`, which turns an admin's rule into an RE2
expression or refuses it with a message for the admin form.

Pure syntax, below both the models (whose choices and validation use it)
and the rules layer (which reads the models and compiles their rows), so
neither imports the other to share it.
"""

from __future__ import annotations

import re

import re2

REGEX = "regex"
WORDS = "words"
INPUT = "input"
OUTPUT = "output"
BOTH = "both"

# Longer rules are more likely a paste error than a rule; RE2's compiled
# program would also outgrow its memory budget well before 1 MB.
MAX_CHARS = {REGEX: 2000, WORDS: 20_000}

# Python's `\w` on text, which RE2's ASCII-only `\w` is not: "naïveté"
# is one word, so a listed "naïve" must not match inside it.
_NOT_WORD = r"[^\p{L}\p{N}_]"
_SPACE = r"[\s\x0b\p{Z}]+"


def _re2_options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # refusals reach the admin form, not stderr
    return options


def compile_pattern(kind: str, pattern: str):
    """Compiles an admin's rule with RE2, case-insensitively. Raises
    ValueError with a message fit for an admin when the rule is unusable:
    too long, it would not compile (RE2 refuses backreferences and
    look-arounds), or it matches empty text and so would flag every message.

    A word list becomes one expression whose group 1 is the listed word,
    between two non-word characters (or the text's ends); see `_words_found`."""
    if len(pattern) > MAX_CHARS[kind]:
        raise ValueError(f"The rule is too long: {len(pattern)} characters, at most {MAX_CHARS[kind]}.")
    if kind == WORDS:
        words = [line.split() for line in pattern.splitlines() if line.strip()]
        if not words:
            raise ValueError("The word list is empty: write one word or phrase per line.")
        # Longest first, so "kill yourself" wins over "kill" and counts once.
        alternatives = sorted((_SPACE.join(map(re2.escape, parts)) for parts in words), key=len, reverse=True)
        # Non-word characters instead of \b: a listed word may start or end
        # with a symbol ("f*ck"), and "Scunthorpe" must not match "cunt".
        source = rf"(?:^|{_NOT_WORD})(" + "|".join(alternatives) + rf")(?:{_NOT_WORD}|$)"
    else:
        source = pattern
    try:
        compiled = re2.compile(source, _re2_options())
    except re2.error as error:
        detail = error.args[0].decode(errors="replace") if isinstance(error.args[0], bytes) else str(error)
        raise ValueError(_explain(detail)) from None
    if compiled.search(b"") is not None:
        raise ValueError("The pattern matches empty text, so it would flag every message.")
    return compiled


def _explain(detail: str) -> str:
    """RE2's complaint, and why when it is a backtracking-only feature."""
    message = f"Invalid regular expression: {detail}."
    if "invalid perl operator" in detail or re.search(r"invalid escape sequence: \\\d", detail):
        message += (
            " Backreferences (\\1, (?P=name)) and look-arounds ((?=, (?!, (?<=, (?<!) are not supported: rules run on"
            " RE2, which matches in linear time, so no message can make a rule stall the workers."
        )
    return message
