"""The rules layer: regular expressions and word lists per category, the
built-in defaults plus the admin's `ModerationRule` rows.

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

logger = logging.getLogger(__name__)

REGEX = "regex"
WORDS = "words"
INPUT = "input"
OUTPUT = "output"
BOTH = "both"
_DIRECTION_OF_ROLE = {"user": INPUT, "assistant": OUTPUT}


@dataclass(frozen=True)
class CompiledRule:
    category: str
    kind: str
    pattern: re.Pattern
    score: float
    applies_to: str


def compile_pattern(kind: str, pattern: str) -> re.Pattern:
    """Compiles a rule's text, case-insensitively. Raises ValueError with a
    message fit for an admin when the rule is unusable: it would not compile,
    or it matches empty text and so would flag every message."""
    if kind == WORDS:
        words = [line.split() for line in pattern.splitlines() if line.strip()]
        if not words:
            raise ValueError("The word list is empty: write one word or phrase per line.")
        # Longest first, so "kill yourself" wins over "kill" and counts once.
        alternatives = sorted((r"\s+".join(map(re.escape, parts)) for parts in words), key=len, reverse=True)
        # Look-arounds instead of \b: a listed word may start or end with a
        # symbol ("f*ck"), and "Scunthorpe" must not match "cunt".
        source = r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)"
    else:
        source = pattern
    try:
        compiled = re.compile(source, re.IGNORECASE)
    except re.error as error:
        raise ValueError(f"Invalid regular expression: {error}.") from None
    if compiled.search("") is not None:
        raise ValueError("The pattern matches empty text, so it would flag every message.")
    return compiled


def _hits(rule: CompiledRule, text: str) -> int:
    """How many pieces of evidence the rule finds: each distinct listed word
    counts once; a regular expression counts once however often it matches."""
    if rule.kind == WORDS:
        return len({" ".join(match.group(0).lower().split()) for match in rule.pattern.finditer(text)})
    return 1 if rule.pattern.search(text) else 0


def score_text(text: str, rules: tuple[CompiledRule, ...]) -> dict[str, float]:
    """Per-category scores. Hits within a category add up as independent
    evidence (noisy-OR: 1 - prod(1 - score)), so a few weak words together
    can cross a threshold that one alone does not."""
    miss: dict[str, float] = {}
    for rule in rules:
        hits = _hits(rule, text)
        if hits:
            miss[rule.category] = miss.get(rule.category, 1.0) * math.pow(1.0 - rule.score, hits)
    return {category: 1.0 - remaining for category, remaining in miss.items()}


@cache
def _builtin_rules() -> tuple[CompiledRule, ...]:
    return tuple(
        CompiledRule(rule.category, rule.kind, compile_pattern(rule.kind, rule.pattern), rule.score, rule.applies_to)
        for rule in DEFAULT_RULES
    )


def _database_rules() -> tuple[CompiledRule, ...]:
    from .models import ModerationRule

    compiled = []
    for rule in ModerationRule.objects.filter(enabled=True).order_by("id"):
        try:
            pattern = compile_pattern(rule.kind, rule.pattern)
        except ValueError as error:
            # Saved around validation (a bulk write, an older Python): skip it
            # rather than fail every message.
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
        rules = _builtin_rules() + _database_rules()
    _snapshot = _Snapshot(rules, fingerprint, now)
    return rules


def score_many(texts: list[str], role: str) -> list[dict[str, float]]:
    """The layer's entry point: scores with the rules that apply to the
    role's direction (user text is input, assistant text output)."""
    direction = _DIRECTION_OF_ROLE[role]
    rules = tuple(rule for rule in active_rules() if rule.applies_to in (direction, BOTH))
    return [score_text(text, rules) for text in texts]
