"""Reads for the moderation app: template responses and the review queue."""
from django.db.models import QuerySet

from .default_responses import DEFAULT_RESPONSES, GENERIC
from .models import ReviewDecision, ReviewItem, TemplateResponse


def template_response_for(*, category: str | None, language: str = "en") -> str:
    """The admin's text for the category, in the language ("fr-ca"), its
    base language ("fr") or English, whichever exists first; else the
    built-in (English) text for the category; else the generic one. No
    category (a verdict that was not flagged) gets the generic text."""
    if category is not None:
        languages = list(dict.fromkeys([language, language.split("-")[0], "en"]))
        texts = dict(
            TemplateResponse.objects.filter(category=category, language__in=languages).values_list("language", "text")
        )
        for candidate in languages:
            if texts.get(candidate):
                return texts[candidate]
    return DEFAULT_RESPONSES.get(category, GENERIC)


def review_item_list(*, status: str | None) -> QuerySet[ReviewItem]:
    """Newest first, with what the list shows of each item's context
    (the conversation's owner, the user message an answer replied to)."""
    items = ReviewItem.objects.select_related("message__conversation__owner", "message__parent", "reviewer")
    if status is not None:
        items = items.filter(status=status)
    return items.order_by("-created_at", "-id")


def review_item_get(*, item_id: int) -> ReviewItem | None:
    return review_item_list(status=None).filter(pk=item_id).first()


def review_decision_list(*, item: ReviewItem) -> QuerySet[ReviewDecision]:
    return item.decisions.select_related("reviewer").order_by("at", "id")
