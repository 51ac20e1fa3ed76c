"""Writes for the review queue."""
from django.db import transaction
from django.utils import timezone

from .models import ReviewDecision, ReviewItem
from .pipeline import Verdict

_STATUS_OF_DECISION = {
    ReviewDecision.Decision.CONFIRM: ReviewItem.Status.CONFIRMED,
    ReviewDecision.Decision.OVERTURN: ReviewItem.Status.OVERTURNED,
}


def review_item_create(*, message, direction: str, text: str, verdict: Verdict) -> ReviewItem:
    """Queues a flagged text for a moderator. `text` is what moderation
    judged, which for a retracted answer is no longer the message's content."""
    return ReviewItem.objects.create(
        message=message,
        direction=direction,
        text=text,
        verdict=verdict.as_dict(),
        layer=verdict.layer or "",
        top_category=verdict.top_category() or "",
    )


@transaction.atomic
def review_item_decide(*, item: ReviewItem, reviewer, decision: str, note: str = "") -> ReviewItem:
    """Confirms or overturns the item ("confirm" or "overturn") and audits
    the decision. A later decision replaces an earlier one on the item; the
    audit keeps both."""
    status = _STATUS_OF_DECISION[decision]
    item.status = status
    item.reviewer = reviewer
    item.note = note
    item.decided_at = timezone.now()
    item.save(update_fields=["status", "reviewer", "note", "decided_at"])
    ReviewDecision.objects.create(item=item, reviewer=reviewer, decision=decision, note=note)
    return item
