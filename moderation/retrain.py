"""The one seam between the review queue and the classifier's training
recipe (`moderation.classifier.train`): labelled examples in, heads on disk
and cross-validated figures out.

An example is `(text, labels)`, labels naming every category of
`moderation.categories` as 1, 0 or None (unknown), as
`selectors.labelled_examples` and `selectors.seed_examples` give them.
"""
from __future__ import annotations

import math
from pathlib import Path

Example = tuple[str, dict[str, int | None]]

# Cross-validation folds, fewer when a class has fewer texts than this.
CV_FOLDS = 5
CV_REPEATS = 3


def _jsonable(value):
    """The figures as JSON can store them: numpy scalars and arrays become
    numbers and lists, NaN (a category without examples) becomes None."""
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if hasattr(value, "tolist"):  # numpy
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _live_rule_scores(texts: list[str]) -> list[float]:
    """The rules layer's top score per text with the rules in force now
    (built-in and admins'), the `rules` feature the heads are trained on.
    Texts are scored as user messages, as the recipe's CLI scores them."""
    from .rules import score_many

    return [max(scores.values(), default=0.0) for scores in score_many(texts, "user")]


def retrain_classifier(*, examples: list[Example], out_dir: Path) -> dict:
    """Trains the heads on every example and saves them in `out_dir`, with
    the cross-validated figures in their metadata; returns those figures
    (without the per-text out-of-fold scores). Raises ValueError when there
    are not at least two safe and two unsafe texts."""
    from .classifier.train import Dataset, cross_validate, overall_label, train_heads, with_train_only_texts

    texts = [text for text, _ in examples]
    labels = [labels for _, labels in examples]
    overall = [overall_label(label) for label in labels]
    unsafe, safe = overall.count(1), overall.count(0)
    if min(safe, unsafe) < 2:
        raise ValueError(
            f"Retraining needs at least two safe and two unsafe labelled texts; there are {safe} safe and {unsafe} unsafe."
        )
    texts, labels, train_only = with_train_only_texts(texts, labels)
    rule_scores = _live_rule_scores(texts)
    # Embeds once for training and CV; the train-only texts are trained on, never scored.
    data = Dataset(texts, labels, rule_scores=rule_scores, train_only=train_only)
    heads = train_heads(texts, labels, dataset=data)
    figures = cross_validate(folds=min(CV_FOLDS, safe, unsafe), repeats=CV_REPEATS, dataset=data)
    figures.pop("oof", None)
    figures = _jsonable(figures)
    heads.metadata["cross_validation"] = figures
    heads.metadata["training_data"]["source"] = (
        "moderators' decisions, the seed set and the train-only texts (moderation/data/)"
    )
    heads.save(Path(out_dir))
    return figures
