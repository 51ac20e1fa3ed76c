"""The JSON shapes the review page's script receives."""

from moderation.models import ReviewItem


def review_item_to_dict(item: ReviewItem) -> dict:
    return {
        "id": item.pk,
        "status": item.status,
        "status_label": item.get_status_display(),
        "reviewer": item.reviewer.username if item.reviewer else None,
        "decided_at": item.decided_at.isoformat() if item.decided_at else None,
        "note": item.note,
    }
