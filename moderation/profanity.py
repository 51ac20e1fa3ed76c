"""The profanity layer: the shipped `alt-profanity-check` model (a linear
model on bag-of-words features) scores offensive, abusive language, which
maps to the harassment category."""
from functools import cache

from .categories import HARASSMENT


@cache
def _predict_prob():
    # Importing loads the model from disk (about a second): once per
    # process, and only in processes that moderate.
    from profanity_check import predict_prob

    return predict_prob


def score_many(texts: list[str], role: str) -> list[dict[str, float]]:
    """Scores all texts in one call: the model is vectorised, so a batch
    costs little more than one text. The role does not change the score."""
    return [{HARASSMENT: float(probability)} for probability in _predict_prob()(texts)]
