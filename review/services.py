"""Moderators' decisions on review items."""

from django.db import transaction
from django.utils import timezone

from chat.events import report_state_send_on_commit
from moderation.models import ReviewDecision, ReviewItem

_STATUS_OF_DECISION = {
    ReviewDecision.Decision.CONFIRM: ReviewItem.Status.CONFIRMED,
    ReviewDecision.Decision.OVERTURN: ReviewItem.Status.OVERTURNED,
}


def _decide(items: list[ReviewItem], *, reviewer, decision: str, note: str) -> list[ReviewDecision]:
    """Sets the items' status and audits each change; a user who reported
    one of the answers hears of the decision in their open chats once it
    commits. Precondition: inside a transaction, the items' rows locked and
    their status fresh."""
    status = _STATUS_OF_DECISION[decision]
    now = timezone.now()
    audit = []
    for item in items:
        audit.append(
            ReviewDecision(
                item=item,
                reviewer=reviewer,
                decision=decision,
                note=note,
                status_before=item.status,
                status_after=status,
            )
        )
        item.status, item.reviewer, item.note, item.decided_at = status, reviewer, note, now
    ReviewItem.objects.bulk_update(items, ["status", "reviewer", "note", "decided_at"])
    for item in items:
        if item.origin == ReviewItem.Origin.REPORT and item.reported_by_id and item.message_id:
            report_state_send_on_commit(user_id=item.reported_by_id, message_id=item.message_id)
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
