"""The rules layer: regular expressions and word lists per category, the
built-in defaults plus the admin's `ModerationRule` rows.

Admin rules run on every user message and, in the generation worker, on
every answer, so they are compiled with RE2, whose matching time is linear
in the text: a backtracking engine lets one plausible rule (`^(a|aa)+$`)
and a 40-character message hold a worker's CPU, and the GIL, for hours.
RE2 has no backreferences or look-arounds; `compile_pattern` refuses them
with a message for the admin form. The built-in regular expressions are
reviewed code that needs look-aheads ("will never hurt you" is no threat),
so they alone stay on `re`; their repetitions are bounded, and
bench/regex_rules.py measures them against hostile input.

It runs on every message, so compiled rules are cached per process. A rule
saved or deleted in this process drops the cache at once (the signal in
`apps.py`); other processes (workers) notice within
`settings.MODERATION_RULES_REFRESH_SECONDS`
through one cheap aggregate query on the rules table.
"""
from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass
from functools import cache

import re2
from django.conf import settings
from django.db.models import Count, Max

from .default_rules import DEFAULT_RULES

logger = logging.getLogger(__name__)

REGEX = "regex"
WORDS = "words"
INPUT = "input"
OUTPUT = "output"
BOTH = "both"
_DIRECTION_OF_ROLE = {"user": INPUT, "assistant": OUTPUT}

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


@dataclass(frozen=True)
class CompiledRule:
    category: str
    kind: str
    # RE2 for every word list and admin rule; `re` only for built-in regexes.
    pattern: object
    score: float
    applies_to: str


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


def _words_found(pattern, data: bytes) -> set[str]:
    """The distinct listed words in the UTF-8 text. Each search resumes at
    the end of the word found, so the non-word character after it can be
    the one before the next ("kill murder" holds two)."""
    found = set()
    position = 0
    while (match := pattern.search(data, position)) is not None:
        found.add(" ".join(match.group(1).decode().lower().split()))
        position = match.end(1)
    return found


def _hits(rule: CompiledRule, spaced: str, data: bytes) -> int:
    """How many pieces of evidence the rule finds: each distinct listed word
    counts once; a regular expression counts once however often it matches.

    RE2 reads `data`, the text encoded once (it would encode a str on every
    call). A built-in `re` expression reads `spaced`, the text with each
    run of whitespace made one space: each of their `\\s` accepts a run
    either way, but a long run made them backtrack quadratically (an "i"
    and 16,000 spaces held the CPU for about 45 s)."""
    if rule.kind == WORDS:
        return len(_words_found(rule.pattern, data))
    if isinstance(rule.pattern, re.Pattern):
        return 1 if rule.pattern.search(spaced) else 0
    return 1 if rule.pattern.search(data) else 0


def score_text(text: str, rules: tuple[CompiledRule, ...]) -> dict[str, float]:
    """Per-category scores. Hits within a category add up as independent
    evidence (noisy-OR: 1 - prod(1 - score)), so a few weak words together
    can cross a threshold that one alone does not."""
    spaced, data = " ".join(text.split()), text.encode()
    miss: dict[str, float] = {}
    for rule in rules:
        hits = _hits(rule, spaced, data)
        if hits:
            miss[rule.category] = miss.get(rule.category, 1.0) * math.pow(1.0 - rule.score, hits)
    return {category: 1.0 - remaining for category, remaining in miss.items()}


@cache
def builtin_rules() -> tuple[CompiledRule, ...]:
    """The shipped rules: word lists on RE2 like an admin's, regular
    expressions on `re` (see the module docstring for why)."""
    return tuple(
        CompiledRule(
            rule.category,
            rule.kind,
            re.compile(rule.pattern, re.IGNORECASE) if rule.kind == REGEX else compile_pattern(rule.kind, rule.pattern),
            rule.score,
            rule.applies_to,
        )
        for rule in DEFAULT_RULES
    )


def _database_rules() -> tuple[CompiledRule, ...]:
    from .models import ModerationRule

    compiled = []
    for rule in ModerationRule.objects.filter(enabled=True).order_by("id"):
        try:
            pattern = compile_pattern(rule.kind, rule.pattern)
        except ValueError as error:
            # Saved around validation (a bulk write, or before rules ran on
            # RE2): skip it rather than fail every message.
            logger.warning("Skipping moderation rule %s: %s", rule.pk, error)
            continue
        compiled.append(CompiledRule(rule.category, rule.kind, pattern, rule.score, rule.applies_to))
    return tuple(compiled)


@dataclass(frozen=True)
class _Snapshot:
    rules: tuple[CompiledRule, ...]
    fingerprint: tuple
    checked_at: float


_snapshot: _Snapshot | None = None


def invalidate() -> None:
    """Forgets the compiled rules; the next message recompiles them."""
    global _snapshot
    _snapshot = None


def active_rules() -> tuple[CompiledRule, ...]:
    """Built-in and enabled admin rules, recompiled only when the rules table
    changed (its row count or latest `updated_at`)."""
    global _snapshot
    from .models import ModerationRule

    now = time.monotonic()
    snapshot = _snapshot
    if snapshot is not None and now - snapshot.checked_at < settings.MODERATION_RULES_REFRESH_SECONDS:
        return snapshot.rules
    stats = ModerationRule.objects.aggregate(count=Count("id"), latest=Max("updated_at"))
    fingerprint = (stats["count"], stats["latest"])
    if snapshot is not None and snapshot.fingerprint == fingerprint:
        rules = snapshot.rules
    else:
        rules = builtin_rules() + _database_rules()
    _snapshot = _Snapshot(rules, fingerprint, now)
    return rules


def score_many(texts: list[str], role: str) -> list[dict[str, float]]:
    """The layer's entry point: scores with the rules that apply to the
    role's direction (user text is input, assistant text output)."""
    direction = _DIRECTION_OF_ROLE[role]
    rules = tuple(rule for rule in active_rules() if rule.applies_to in (direction, BOTH))
    return [score_text(text, rules) for text in texts]
