"""The profanity layer: the shipped `alt-profanity-check` model (a linear
model on bag-of-words features) scores offensive, abusive language, which
maps to the harassment category."""

from collections.abc import Sequence
from functools import cache

import numpy as np

from .categories import HARASSMENT


@cache
def _profanity_parts():
    """alt-profanity-check's TF-IDF vectorizer, and its five sigmoid-
    calibrated LinearSVCs unpacked into arrays (None if the model is not of
    that shape): the package's `predict_prob` spends 2.5 of its 3 ms in
    scikit-learn's per-call checks, this gives the same numbers in 0.5 ms."""
    from profanity_check import profanity_check

    vectorizer, model = profanity_check.vectorizer, profanity_check.model
    try:
        parts = model.calibrated_classifiers_
        weights = np.stack([part.estimator.coef_.ravel() for part in parts])
        intercepts = np.array([part.estimator.intercept_[0] for part in parts])
        slopes = np.array([part.calibrators[0].a_ for part in parts])
        offsets = np.array([part.calibrators[0].b_ for part in parts])
        if list(model.classes_) != [0, 1] or model.method != "sigmoid":
            raise AttributeError
        return vectorizer, model, (weights.T.copy(), intercepts, slopes, offsets)
    except (AttributeError, IndexError):
        return vectorizer, model, None


def profanity_probabilities(texts: Sequence[str]) -> np.ndarray:
    """What `profanity_check.predict_prob(texts)` returns, faster."""
    vectorizer, model, arrays = _profanity_parts()
    matrix = vectorizer.transform(list(texts))
    if arrays is None:
        return model.predict_proba(matrix)[:, 1]
    weights, intercepts, slopes, offsets = arrays
    decisions = np.asarray(matrix @ weights) + intercepts
    return (0.5 * (1.0 + np.tanh(-0.5 * (slopes * decisions + offsets)))).mean(axis=1)


def score_many(texts: list[str], role: str) -> list[dict[str, float]]:
    """Scores all texts in one call: the model is vectorised, so a batch
    costs little more than one text. The role does not change the score."""
    return [{HARASSMENT: float(probability)} for probability in profanity_probabilities(texts)]
