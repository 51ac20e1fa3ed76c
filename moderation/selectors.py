"""Reads for retraining the classifier: the labelled examples it learns
from (the seed set and moderators' decisions) and the trainings so far."""

import json
import logging
from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from registry.models import ModelVersion

from .categories import CATEGORIES, OPENAI_LABELS
from .models import ClassifierTraining, ReviewItem

logger = logging.getLogger(__name__)

Labels = dict[str, int | None]


def labelled_examples() -> list[tuple[str, Labels]]:
    """(text, labels) from moderators' decisions, oldest decision first.
    Labels name every category: a confirmed item labels its flagged
    categories 1 and leaves the others None (unknown); an overturned item
    labels every category 0. Only an item's latest decision counts, which
    is its status. A confirmed user's report says the answer is bad but not
    in which category, so it is left out, as is an empty text."""
    decided = ReviewItem.objects.filter(
        status__in=[ReviewItem.Status.CONFIRMED, ReviewItem.Status.OVERTURNED]
    ).order_by("decided_at", "id")
    examples = []
    for item in decided.only("text", "status", "origin", "verdict"):
        if not item.text.strip():
            continue
        if item.status == ReviewItem.Status.OVERTURNED:
            examples.append((item.text, dict.fromkeys(CATEGORIES, 0)))
            continue
        # A confirmed report says the answer is bad, not in which category.
        flagged = item.flagged_categories() if item.origin == ReviewItem.Origin.AUTOMATIC else []
        if flagged:
            examples.append((item.text, {category: 1 if category in flagged else None for category in CATEGORIES}))
    return examples


def seed_examples(*, path: Path | None = None) -> list[tuple[str, Labels]]:
    """(text, labels) from the seed JSONL file (`settings.MODERATION_SEED_DATA`
    unless `path` is given): `prompt` and 0/1 labels under S, H, V, HR, SH,
    S3, H2, V2; a missing key, or a category the file does not label, is
    None. No file, no examples; unreadable lines are skipped."""
    path = Path(path or settings.MODERATION_SEED_DATA)
    if not path.is_file():
        return []
    examples = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text = row["prompt"]
                labels: Labels = dict.fromkeys(CATEGORIES)
                for key, category in OPENAI_LABELS.items():
                    if row.get(key) is not None:
                        labels[category] = int(row[key])
            except (ValueError, KeyError, TypeError):
                logger.warning("Skipping line %d of %s: not a labelled example.", number, path)
                continue
            if isinstance(text, str) and text.strip():
                examples.append((text, labels))
    return examples


def training_examples() -> list[tuple[str, Labels]]:
    """What retraining learns from: the seed set, then the decisions."""
    return seed_examples() + labelled_examples()


def classifier_training_list(*, limit: int = 50) -> list[ClassifierTraining]:
    return list(
        ClassifierTraining.objects.select_related("requested_by", "model_version").order_by("-created_at", "-id")[
            :limit
        ]
    )


def classifier_training_active() -> ClassifierTraining | None:
    """A training that is queued or running and not stale, if any."""
    return ClassifierTraining.objects.filter(
        state__in=ClassifierTraining.ACTIVE_STATES, created_at__gte=timezone.now() - ClassifierTraining.STALE_AFTER
    ).first()


def classifier_version_list() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.filter(kind=ModelVersion.Kind.CLASSIFIER).order_by("-created_at", "-id")
