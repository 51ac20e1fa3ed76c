"""The moderation pipeline: every user message (input) and every assistant
answer (output) passes through `moderate`.

Layers run cheapest first, in the order of `settings.MODERATION_LAYERS`.
Each returns per-category scores in 0..1; scores combine across layers by
max, a category is flagged at or above its threshold, and the first layer
that flags a text decides it, so the costlier layers after it are skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from . import guard, profanity, rules
from .categories import CATEGORIES
from .classifier import layer as classifier_layer

# Long texts are scored in chunks (a verdict is the max over chunks); the
# overlap keeps a phrase cut by a chunk boundary whole in one of them.
CHUNK_CHARS = 20_000
_CHUNK_OVERLAP = 200

ROLES = ("user", "assistant")
# Layers that take the cheaper layers' scores among their features: once one
# has run, its overall score is the verdict's score (flags still come from
# every layer, so a rule's hit is never lost). A combiner is called with
# `earlier`: per text, the scores each layer before it gave that text (a
# layer that skipped the text is absent), so it does not score them again.
COMBINERS = frozenset({"classifier"})

Layer = Callable[[list[str], str], list[dict[str, float]]]
LAYERS: dict[str, Layer] = {
    "rules": rules.score_many,
    "profanity": profanity.score_many,
    "classifier": classifier_layer.score_many,
    "guard": guard.score_many,
}


@dataclass(frozen=True)
class Verdict:
    flagged: bool
    score: float  # overall: a combiner's score when one ran, else the max of category_scores
    categories: dict[str, bool]  # every category present
    category_scores: dict[str, float]  # every category present, 0..1
    layer: str | None  # the layer that decided; None when not flagged

    def top_category(self) -> str | None:
        """The highest-scoring flagged category; on a tie the more specific
        one ("self-harm/intent" over "self-harm"), which picks the better
        template response."""
        flagged = [category for category in CATEGORIES if self.categories[category]]
        if not flagged:
            return None
        return max(flagged, key=lambda category: (self.category_scores[category], "/" in category))

    def as_dict(self) -> dict:
        return {
            "flagged": self.flagged,
            "score": self.score,
            "categories": dict(self.categories),
            "category_scores": dict(self.category_scores),
            "layer": self.layer,
        }


def _threshold(category: str, role: str) -> float:
    """Answers get their own, higher thresholds: the scorers learnt from
    what people write, and on a model's sentences (often cut mid-way by the
    hold-back) they err towards flagging, which would retract good answers."""
    if role == "assistant":
        return settings.MODERATION_OUTPUT_THRESHOLDS.get(category, settings.MODERATION_OUTPUT_THRESHOLD)
    return settings.MODERATION_THRESHOLDS.get(category, settings.MODERATION_THRESHOLD)


def _verdict(scores: dict[str, float], layer: str | None, role: str, overall: float | None = None) -> Verdict:
    # Rounded: noisy-OR leaves float dust (0.30000000000000004) in stored verdicts.
    category_scores = {
        category: round(min(max(float(scores.get(category, 0.0)), 0.0), 1.0), 6) for category in CATEGORIES
    }
    categories = {category: score >= _threshold(category, role) for category, score in category_scores.items()}
    flagged = any(categories.values())
    return Verdict(
        flagged=flagged,
        score=round(overall, 6) if overall is not None else max(category_scores.values()),
        categories=categories,
        category_scores=category_scores,
        layer=layer if flagged else None,
    )


def _layers(role: str) -> list[tuple[str, Layer]]:
    """Input and output have their own layer lists: the trained classifier
    learnt from what people write and is not yet trusted on answers."""
    setting = "MODERATION_OUTPUT_LAYERS" if role == "assistant" else "MODERATION_LAYERS"
    try:
        return [(name, LAYERS[name]) for name in getattr(settings, setting)]
    except KeyError as error:
        raise ImproperlyConfigured(
            f"{setting} names an unknown layer {error.args[0]!r}; known layers: {', '.join(LAYERS)}."
        ) from None


def _chunks(text: str) -> list[str]:
    step = CHUNK_CHARS - _CHUNK_OVERLAP
    return [text[start : start + CHUNK_CHARS] for start in range(0, max(len(text) - _CHUNK_OVERLAP, 1), step)]


def moderate_many(texts: list[str], role: str) -> list[Verdict]:
    """Verdicts for many texts of one role, each layer called once for all
    texts still undecided (the profanity model scores a batch in one call)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, not {role!r}")
    layers = _layers(role)
    # Flatten every text into chunks; `owner[i]` is the text chunk i belongs to.
    chunks: list[str] = []
    owner: list[int] = []
    for index, text in enumerate(texts):
        if text.strip():
            pieces = _chunks(text)
            chunks.extend(pieces)
            owner.extend([index] * len(pieces))
    scores: list[dict[str, float]] = [{} for _ in texts]
    by_layer: list[dict[str, dict[str, float]]] = [{} for _ in chunks]  # chunk -> layer -> its scores
    deciders: list[str | None] = [None] * len(texts)
    overall: list[float | None] = [None] * len(texts)
    for name, layer in layers:
        # A combiner scores every text, decided or not: its overall score
        # ranks texts better than the cheap layers' flags it learnt from.
        pending = [i for i in range(len(chunks)) if name in COMBINERS or deciders[owner[i]] is None]
        if not pending:
            continue  # a combiner further on may still have texts to score
        pending_chunks = [chunks[i] for i in pending]
        if name in COMBINERS:
            results = layer(pending_chunks, role, earlier=[dict(by_layer[i]) for i in pending])
        else:
            results = layer(pending_chunks, role)
        for i, chunk_scores in zip(pending, results, strict=True):
            by_layer[i][name] = chunk_scores
            combined = scores[owner[i]]
            for category, score in chunk_scores.items():
                combined[category] = max(combined.get(category, 0.0), score)
            if name in COMBINERS and overall[owner[i]] is None:
                overall[owner[i]] = max(chunk_scores.values(), default=0.0)
            elif name in COMBINERS:
                overall[owner[i]] = max(overall[owner[i]], max(chunk_scores.values(), default=0.0))
        for index in {owner[i] for i in pending}:
            if deciders[index] is None and _verdict(scores[index], name, role).flagged:
                deciders[index] = name
    return [
        _verdict(text_scores, decider, role, text_overall)
        for text_scores, decider, text_overall in zip(scores, deciders, overall, strict=True)
    ]


def moderate(text: str, role: str) -> Verdict:
    """The verdict on one text, judged alone. `role` is "user" (input
    moderation) or "assistant" (output moderation)."""
    return moderate_many([text], role)[0]
