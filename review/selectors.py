"""Reads for the review queue: the items, their decisions and what the
model read before each."""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet

from chat.models import Message
from chat.selectors import message_branch
from moderation.models import ReviewDecision, ReviewItem


def review_item_list(
    *,
    status: str | None,
    category: str | None = None,
    layer: str | None = None,
    direction: str | None = None,
    origin: str | None = None,
) -> QuerySet[ReviewItem]:
    """Newest first, with what the list shows of each item's context (the
    conversation's owner, the user message an answer replied to, who
    reported it). None leaves a filter out. `category` matches any category
    the verdict flagged, not only the top one."""
    items = ReviewItem.objects.select_related(
        "owner", "message__parent", "candidate__prompt", "reviewer", "reported_by"
    )
    if status is not None:
        items = items.filter(status=status)
    if category is not None:
        items = items.filter(**{f"verdict__categories__{category}": True})
    if layer is not None:
        items = items.filter(layer=layer)
    if direction is not None:
        items = items.filter(direction=direction)
    if origin is not None:
        items = items.filter(origin=origin)
    return items.order_by("-created_at", "-id")


def review_item_get(*, item_id: int) -> ReviewItem | None:
    return review_item_list(status=None).filter(pk=item_id).first()


def review_items_by_ids(*, item_ids: list[int]) -> list[ReviewItem]:
    return list(review_item_list(status=None).filter(pk__in=item_ids))


def review_layer_choices() -> list[str]:
    """The layers an item can be filtered by: the configured ones and any
    that decided a stored item."""
    stored = ReviewItem.objects.exclude(layer="").values_list("layer", flat=True).distinct()
    return sorted({*settings.MODERATION_LAYERS, *stored})


def review_decision_list(*, item: ReviewItem) -> QuerySet[ReviewDecision]:
    return item.decisions.select_related("reviewer").order_by("at", "id")


def review_item_flagged_message_id(*, item: ReviewItem) -> int | None:
    """The message whose text was judged. Input moderation files its item on
    the answer that the template replaced, so the flagged text is the user
    message above it."""
    message = item.message
    if message is None:
        return None
    wanted_role = Message.Role.USER if item.direction == ReviewItem.Direction.INPUT else Message.Role.ASSISTANT
    return message.pk if message.role == wanted_role else message.parent_id


@dataclass(frozen=True)
class ContextTurn:
    """A turn of a labeling prompt, or a conversation's system prompt,
    shown like a chat message."""

    role: str
    content: str
    pk = None
    status = ""

    def get_role_display(self) -> str:
        return self.role.capitalize()


def review_item_context(*, item: ReviewItem) -> list[Message | ContextTurn]:
    """The conversation's system prompt, then its branch from the root down
    to the item's message, in order: what the model read (the path the
    owner saw, as chat.selectors.message_branch walks it), so a request
    hidden in the system prompt or in a client's history is seen.
    An annotators' item shows its prompt, the candidate answering it last.
    Nothing once the conversation or candidate was purged: the item's own
    text is then all there is."""
    if item.candidate_id:
        turns = [*item.candidate.prompt.messages, {"role": "assistant", "content": item.candidate.text}]
        return [ContextTurn(role=t["role"], content=t["content"]) for t in turns]
    if item.message_id is None:
        return []
    system_prompt = item.message.conversation.system_prompt
    system = [ContextTurn(role="system", content=system_prompt)] if system_prompt.strip() else []
    return [*system, *message_branch(item.message)]
