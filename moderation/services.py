"""Writes for the review queue and the classifier it teaches."""
import logging
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.telemetry.instruments import moderation_flags_record
from registry.models import ModelVersion

from .categories import CATEGORIES
from .models import ClassifierTraining, ReviewDecision, ReviewItem
from .pipeline import Verdict

logger = logging.getLogger(__name__)

_STATUS_OF_DECISION = {
    ReviewDecision.Decision.CONFIRM: ReviewItem.Status.CONFIRMED,
    ReviewDecision.Decision.OVERTURN: ReviewItem.Status.OVERTURNED,
}

# The verdict a report carries when moderation never judged the answer
# (one stopped before its final check).
_UNJUDGED_VERDICT = {
    "flagged": False,
    "score": 0.0,
    "categories": dict.fromkeys(CATEGORIES, False),
    "category_scores": dict.fromkeys(CATEGORIES, 0.0),
    "layer": None,
}


def review_item_create(*, message, direction: str, text: str, verdict: Verdict) -> ReviewItem:
    """Queues a flagged text for a moderator. `text` is what moderation
    judged, which for a retracted answer is no longer the message's content.
    The flag is counted for /metrics once the transaction commits, so an
    attempt that is rolled back and run again counts once."""
    item = ReviewItem.objects.create(
        message=message,
        conversation_id=message.conversation_id,
        owner_id=message.conversation.owner_id,
        direction=direction,
        text=text,
        verdict=verdict.as_dict(),
        layer=verdict.layer or "",
        top_category=verdict.top_category() or "",
    )
    transaction.on_commit(lambda: moderation_flags_record(categories=item.flagged_categories(), stage=direction))
    return item


def review_item_report(*, message, reported_by, reason: str) -> ReviewItem:
    """Queues an answer a user reported, with the verdict moderation gave it
    (not flagged, or it would not have been shown). Preconditions, checked
    by the caller: `message` is an answer in `reported_by`'s conversation,
    who has no open report on it; the database refuses a second one."""
    return ReviewItem.objects.create(
        message=message,
        conversation_id=message.conversation_id,
        owner_id=message.conversation.owner_id,
        direction=ReviewItem.Direction.OUTPUT,
        origin=ReviewItem.Origin.REPORT,
        reported_by=reported_by,
        report_reason=reason,
        text=message.content,
        verdict=message.moderation or _UNJUDGED_VERDICT,
    )


def review_item_from_annotators(*, candidate, reason: str) -> ReviewItem:
    """Queues a candidate answer that annotators' consensus found harmful or
    unacceptable, once while open: consensus is recomputed with every
    ranking, and a moderator's queue must not fill with repeats. The
    decision teaches the classifier like any other (an overturn says the
    text is safe)."""
    item, _ = ReviewItem.objects.get_or_create(
        candidate=candidate,
        origin=ReviewItem.Origin.ANNOTATION,
        status=ReviewItem.Status.OPEN,
        defaults={
            "direction": ReviewItem.Direction.OUTPUT,
            "report_reason": reason,
            "text": candidate.text,
            "verdict": _UNJUDGED_VERDICT,
            "layer": "annotators",
        },
    )
    return item


def _decide(items: list[ReviewItem], *, reviewer, decision: str, note: str) -> list[ReviewDecision]:
    """Sets the items' status and audits each change. Precondition: inside a
    transaction, the items' rows locked and their status fresh."""
    status = _STATUS_OF_DECISION[decision]
    now = timezone.now()
    audit = []
    for item in items:
        audit.append(
            ReviewDecision(
                item=item, reviewer=reviewer, decision=decision, note=note, status_before=item.status, status_after=status
            )
        )
        item.status, item.reviewer, item.note, item.decided_at = status, reviewer, note, now
    ReviewItem.objects.bulk_update(items, ["status", "reviewer", "note", "decided_at"])
    return ReviewDecision.objects.bulk_create(audit)


@transaction.atomic
def review_item_decide(*, item: ReviewItem, reviewer, decision: str, note: str = "") -> ReviewItem:
    """Confirms or overturns the item ("confirm" or "overturn") and audits
    the decision with the status before and after. A later decision replaces
    an earlier one on the item; the audit keeps both. The row is locked, so
    two moderators deciding at once are audited one after the other."""
    item.status = ReviewItem.objects.select_for_update().values_list("status", flat=True).get(pk=item.pk)
    _decide([item], reviewer=reviewer, decision=decision, note=note)
    return item


@transaction.atomic
def review_items_decide(*, items: list[ReviewItem], reviewer, decision: str, note: str = "") -> list[ReviewItem]:
    """`review_item_decide` for many items at once, each audited on its own."""
    ids = [item.pk for item in items]
    current = dict(ReviewItem.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", "status"))
    items = [item for item in items if item.pk in current]
    for item in items:
        item.status = current[item.pk]
    _decide(items, reviewer=reviewer, decision=decision, note=note)
    return items


# --- Retraining the classifier -------------------------------------------------


@transaction.atomic
def classifier_training_request(*, requested_by) -> tuple[ClassifierTraining, bool]:
    """Queues a retraining on the `moderation` queue, unless one is already
    queued or running: (that training, whether it is new). One that has
    been at it longer than ClassifierTraining.STALE_AFTER is marked failed."""
    now = timezone.now()
    ClassifierTraining.objects.filter(
        state__in=ClassifierTraining.ACTIVE_STATES, created_at__lt=now - ClassifierTraining.STALE_AFTER
    ).update(
        state=ClassifierTraining.State.FAILED,
        error=f"No worker finished it within {ClassifierTraining.STALE_AFTER}; it was given up.",
        finished_at=now,
    )
    active = ClassifierTraining.objects.select_for_update().filter(state__in=ClassifierTraining.ACTIVE_STATES).first()
    if active is not None:
        return active, False
    training = ClassifierTraining.objects.create(requested_by=requested_by)
    from .tasks import classifier_train_task

    transaction.on_commit(lambda: classifier_train_task.delay(training.pk))
    return training, True


def _heads_dir(name: str) -> Path:
    return Path(settings.DATA_DIR) / "moderation" / "heads" / name


def classifier_training_run(*, training_id: int) -> None:
    """Trains the classifier's heads from every labelled example and
    registers them as a classifier version that does not serve until an
    admin promotes it. Runs in a worker; a training that is no longer
    queued (taken by another worker, or deleted) is left alone."""
    from .retrain import retrain_classifier
    from .selectors import serving_classifier_version, training_examples

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
            version = ModelVersion.objects.create(
                name=name,
                kind=ModelVersion.Kind.CLASSIFIER,
                source=ModelVersion.Source.TRAINED,
                path=str(out_dir),
                base=serving_classifier_version(),
                description=f"Moderation classifier heads from {len(examples):,} labelled examples "
                f"(training #{training.pk}).",
                metadata={"figures": figures, "examples": len(examples), "training": training.pk, "serving": False},
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


@transaction.atomic
def classifier_version_promote(*, version: ModelVersion) -> ModelVersion:
    """Makes `version` the classifier that moderates: `metadata["serving"]`
    true on it and false on every other classifier version, all rows locked
    in one transaction so no reader sees two serving heads or a half swap."""
    if version.kind != ModelVersion.Kind.CLASSIFIER:
        raise ValueError("Only a classifier version can be promoted here.")
    versions = list(ModelVersion.objects.select_for_update().filter(kind=ModelVersion.Kind.CLASSIFIER).order_by("pk"))
    for candidate in versions:
        candidate.metadata = {**(candidate.metadata or {}), "serving": candidate.pk == version.pk}
        if candidate.pk == version.pk:
            version.metadata = candidate.metadata
    ModelVersion.objects.bulk_update(versions, ["metadata"])
    return version
