"""The rules layer: regular expressions and word lists per category, the
built-in defaults plus the admin's `ModerationRule` rows.

Admin rules run on every user message and, in the generation worker, on
every answer, so they are compiled with RE2, whose matching time is linear
in the text: a backtracking engine lets one plausible rule (`^(a|aa)+$`)
and a 40-character message hold a worker's CPU, and the GIL, for hours.
RE2 has no backreferences or look-arounds; `rule_syntax.compile_pattern`
refuses them with a message for the admin form. The built-in regular expressions are
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

from django.conf import settings
from django.db.models import Count, Max

from .default_rules import DEFAULT_RULES
from .rule_syntax import BOTH, INPUT, OUTPUT, REGEX, WORDS, compile_pattern

logger = logging.getLogger(__name__)

_DIRECTION_OF_ROLE = {"user": INPUT, "assistant": OUTPUT}


@dataclass(frozen=True)
class CompiledRule:
    category: str
    kind: str
    # RE2 for every word list and admin rule; `re` only for built-in regexes.
    pattern: object
    score: float
    applies_to: str


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
