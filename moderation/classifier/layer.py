"""The classifier layer of the moderation pipeline.

Which head serves is `serving.classifier_head_path`'s decision (the
registry's serving classifier version, else the shipped head). Each process
loads the head once and checks the registry again at most every
`settings.MODERATION_CLASSIFIER_REFRESH_SECONDS` (one indexed query), so a
promotion reaches every worker within that time.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from .. import rules
from ..categories import HARASSMENT
from .embedder import get_embedder
from .features import window_features
from .heads import Heads
from .serving import SHIPPED_HEAD, classifier_head_path

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Loaded:
    path: Path
    heads: Heads
    checked_at: float


_loaded: _Loaded | None = None
_lock = threading.Lock()


def invalidate() -> None:
    """Forgets the loaded head; the next message looks the serving one up."""
    global _loaded
    _loaded = None


def serving_heads() -> Heads:
    """The serving head, loaded once per path and process. A head that fails
    to load is logged and the one loaded before (or the shipped one) keeps
    serving, so a bad file never stops moderation."""
    global _loaded
    loaded, now = _loaded, time.monotonic()
    if loaded is not None and now - loaded.checked_at < settings.MODERATION_CLASSIFIER_REFRESH_SECONDS:
        return loaded.heads
    path = classifier_head_path()
    if loaded is not None and loaded.path == path:
        _loaded = _Loaded(path, loaded.heads, now)
        return loaded.heads
    with _lock:
        try:
            heads = Heads.load(path)
        except (OSError, ValueError, KeyError) as error:
            logger.error("Cannot load the classifier head in %s: %s", path, error)
            if loaded is not None:
                heads, path = loaded.heads, loaded.path
            else:
                heads, path = Heads.load(SHIPPED_HEAD), SHIPPED_HEAD
        _loaded = _Loaded(path, heads, now)
    return heads


def score_many(
    texts: list[str], role: str, earlier: list[dict[str, dict[str, float]]] | None = None
) -> list[dict[str, float]]:
    """The layer's entry point: every category's score in 0..1 for each
    text, all texts embedded in batches. `earlier` (from the pipeline): per
    text, the scores the rules and profanity layers already gave it, which
    are features here and are not computed twice (about 1 ms a message)."""
    if not texts:
        return []
    earlier = earlier or [{} for _ in texts]
    heads = serving_heads()
    rule_scores = None
    if "rules" in heads.spec.extras:
        missing = [i for i, done in enumerate(earlier) if "rules" not in done]
        computed = (
            dict(zip(missing, rules.score_many([texts[i] for i in missing], role), strict=True)) if missing else {}
        )
        rule_scores = [
            max((done["rules"] if "rules" in done else computed[i]).values(), default=0.0)
            for i, done in enumerate(earlier)
        ]
    profanity = [done["profanity"].get(HARASSMENT) if "profanity" in done else None for done in earlier]
    embedder = get_embedder(dtype=settings.MODERATION_CLASSIFIER_DTYPE)
    features, owner = window_features(heads.spec, texts, rule_scores, profanity=profanity, embedder=embedder)
    return heads.score(features, owner, len(texts))
