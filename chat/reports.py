"""What a user sees of their own reports of answers: whether each is under
review or what a moderator decided, on the answer in the chat and on the
My reports page.

A report is moderation's review item (services.message_report files it);
moderators decide it in the review app, which then tells the reporter's
open chats (events.report_state_send_on_commit). Only the reporter sees a
report's state, and nothing a moderator wrote: a decision's note is for
the moderators (the review item has no note meant for the reporter)."""

from moderation.models import ReviewItem

# What each state of a review item means to the person who reported it.
# Confirming a report agrees the answer is harmful; it stays in the chat.
_OUTCOMES = {
    ReviewItem.Status.OPEN: "under review",
    ReviewItem.Status.CONFIRMED: "a moderator confirmed it breaks the rules",
    ReviewItem.Status.OVERTURNED: "a moderator found no violation",
}


def report_to_dict(item: ReviewItem) -> dict:
    return {
        "id": item.pk,
        "status": item.status,
        "outcome": f"Reported · {_OUTCOMES[item.status]}",
        "decided_at": item.decided_at.isoformat() if item.decided_at else None,
    }


def _reports_by(user):
    return ReviewItem.objects.filter(reported_by=user, origin=ReviewItem.Origin.REPORT)


def report_states(*, user, message_ids) -> dict[int, dict]:
    """`report_to_dict` of `user`'s latest report on each of these answers
    that they reported: a decided report may be followed by a new one."""
    latest = {}
    for item in _reports_by(user).filter(message_id__in=list(message_ids)).order_by("created_at", "id"):
        latest[item.message_id] = report_to_dict(item)
    return latest


def report_list(*, user, limit: int | None = 200) -> list[dict]:
    """`user`'s reports, newest first, for the My reports page: the answer
    as it was reported, the reason given, the state, and the chat it is in
    while the user still has it; `limit` None: all of them (the export)."""
    items = _reports_by(user).select_related("message__conversation").order_by("-created_at", "-id")[:limit]
    rows = []
    for item in items:
        conversation = item.message.conversation if item.message else None
        rows.append(
            {
                **report_to_dict(item),
                "answer": item.text,
                "reason": item.report_reason,
                "reported_at": item.created_at,
                "decided_at": item.decided_at,
                "conversation": conversation if conversation and conversation.deleted_at is None else None,
            }
        )
    return rows
