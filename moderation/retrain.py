"""Retraining the classifier, the worker side: `classifier_training_run`
(the Celery task `classifier_train_task` calls it) reads the labelled
examples, trains through `retrain_classifier`, the one seam to the training
recipe (`moderation.classifier.train`: examples in, heads on disk and
cross-validated figures out), and registers the heads in the registry.

An example is `(text, labels)`, labels naming every category of
`moderation.categories` as 1, 0 or None (unknown), as
`selectors.labelled_examples` and `selectors.seed_examples` give them.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from registry.models import ModelVersion
from registry.services import model_version_register

from .classifier.serving import serving_classifier_version
from .models import ClassifierTraining
from .selectors import training_examples

logger = logging.getLogger(__name__)

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
            "Retraining needs at least two safe and two unsafe labelled texts; "
            f"there are {safe} safe and {unsafe} unsafe."
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


def _heads_dir(name: str) -> Path:
    return Path(settings.DATA_DIR) / "moderation" / "heads" / name


def classifier_training_run(*, training_id: int) -> None:
    """Trains the classifier's heads from every labelled example and
    registers them as a classifier version that does not serve until an
    admin promotes it. Runs in a worker; a training that is no longer
    queued (taken by another worker, or deleted) is left alone."""
    claimed = ClassifierTraining.objects.filter(pk=training_id, state=ClassifierTraining.State.QUEUED).update(
        state=ClassifierTraining.State.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return
    training = ClassifierTraining.objects.get(pk=training_id)
    name = f"classifier-{timezone.now():%Y%m%d-%H%M%S}-t{training.pk}"
    out_dir = _heads_dir(name)
    try:
        examples = training_examples()
        training.example_count = len(examples)
        training.save(update_fields=["example_count"])
        if not examples:
            raise ValueError("There is no labelled data yet: decide some review items first.")
        figures = retrain_classifier(examples=examples, out_dir=out_dir)
        with transaction.atomic():
            version = model_version_register(
                name=name,
                kind=ModelVersion.Kind.CLASSIFIER,
                path=str(out_dir),
                base=serving_classifier_version(),
                description=f"Moderation classifier heads from {len(examples):,} labelled examples "
                f"(training #{training.pk}).",
                metadata={"figures": figures, "examples": len(examples), "training": training.pk},
            )
            training.state = ClassifierTraining.State.SUCCEEDED
            training.figures = figures
            training.model_version = version
            training.finished_at = timezone.now()
            training.save(update_fields=["state", "figures", "model_version", "finished_at"])
    except Exception as error:  # recorded on the training for the admin page; never retried blindly
        logger.exception("Classifier training %s failed", training.pk)
        training.state = ClassifierTraining.State.FAILED
        training.error = f"{type(error).__name__}: {error}"[:10_000]
        training.finished_at = timezone.now()
        training.save(update_fields=["state", "error", "finished_at"])
        return
    logger.info("Classifier training %s registered %s from %d examples", training.pk, name, len(examples))
