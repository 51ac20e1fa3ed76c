"""How a text reaches the moderators' queue: a flag from the pipeline, a
user's report, annotators' consensus. Chat and labeling call these; the
queue's pages (the `review` app) read and decide what they file."""

from django.db import transaction

from core.telemetry.instruments import moderation_flags_record

from .categories import CATEGORIES
from .models import ReviewItem
from .pipeline import Verdict

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
    return _flagged_item_create(
        verdict,
        message=message,
        conversation_id=message.conversation_id,
        owner_id=message.conversation.owner_id,
        direction=direction,
        text=text,
    )


def review_item_for_candidate(*, candidate, text: str, verdict: Verdict, reason: str) -> ReviewItem:
    """Queues a text a person wrote for the labeling pool (an annotator's
    answer) that the pipeline flagged. `candidate` carries that text beside
    its prompt, for the moderator to read in context (None if there is
    none)."""
    return _flagged_item_create(
        verdict, candidate=candidate, direction=ReviewItem.Direction.INPUT, report_reason=reason, text=text
    )


def _flagged_item_create(verdict: Verdict, **fields) -> ReviewItem:
    """The item of a text the pipeline flagged, counted for /metrics once
    the transaction commits."""
    item = ReviewItem.objects.create(
        **fields, verdict=verdict.as_dict(), layer=verdict.layer or "", top_category=verdict.top_category() or ""
    )
    transaction.on_commit(
        lambda: moderation_flags_record(categories=item.flagged_categories(), stage=fields["direction"])
    )
    return item


def review_item_report(*, message, reported_by, reason: str) -> ReviewItem:
    """Queues an answer a user reported, with the verdict moderation gave it
    (not flagged, or it would not have been shown). Preconditions, checked
    by the caller: `message` is an answer in `reported_by`'s conversation,
    who has no open report on it (`review_report_is_open`); the database
    refuses a second one."""
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


def review_report_is_open(*, message, user) -> bool:
    """Whether `user` has a report on `message` that no moderator decided yet."""
    return ReviewItem.objects.filter(
        message=message, reported_by=user, origin=ReviewItem.Origin.REPORT, status=ReviewItem.Status.OPEN
    ).exists()


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
