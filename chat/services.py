"""Writes on the web side: conversations, messages, feedback.

Each service stores first and enqueues on commit, so a message is in the
database before any worker or browser hears of it.
"""

from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.db import retry_if_locked
from core.errors import UserError
from core.text import clean_text
from usage.services import answers_admit

from . import dispatch, events, runtime
from .context import awaits_moderation, client_turn_moderation
from .model_choice import answer_model_version
from .models import ACTIVE_STATUSES, FEEDBACK_REASONS, Conversation, Feedback, Message, MessageStatus
from .selectors import latest_leaf_under
from .signals import answer_disliked

if TYPE_CHECKING:
    from moderation.models import ReviewItem

TITLE_FROM_MESSAGE_CHARS = 60
NEW_CHAT_TITLE = "New chat"


def _title_from(content: str) -> str:
    return " ".join(content.split())[:TITLE_FROM_MESSAGE_CHARS]


def conversation_title_withdraw(*, message: Message) -> None:
    """Names the conversation "New chat" again when its title is the
    opening of `message`, which input moderation flagged: the sidebar must
    not show what moderation refused. The next message sent names it."""
    conversation = message.conversation
    if conversation.title == _title_from(message.content):
        conversation.title = NEW_CHAT_TITLE
        conversation.save(update_fields=["title"])


def conversation_create(*, owner, settings_values: dict | None = None) -> Conversation:
    values = {
        "temperature": settings.GENERATION_DEFAULTS["temperature"],
        "top_p": settings.GENERATION_DEFAULTS["top_p"],
        "max_new_tokens": settings.GENERATION_DEFAULTS["max_new_tokens"],
    }
    values.update(settings_values or {})
    return Conversation.objects.create(owner=owner, **values)


def conversation_update(*, conversation: Conversation, values: dict) -> Conversation:
    """`values` come from params.clean_conversation_settings."""
    for field, value in values.items():
        setattr(conversation, field, value)
    conversation.save(update_fields=[*values, "updated_at"])
    return conversation


def conversation_delete(*, conversation: Conversation) -> None:
    """Deletes the conversation for its owner (and for /v1's `store:
    false`): it is hidden from every page, socket and API at once and its
    answers in progress are stopped, but its rows stay until
    `conversations_purge`, so what moderation flagged in it, and the
    moderators' decisions, are not erased with it. A message still waiting
    for input moderation is still judged. One with no message (a first send
    that was refused) holds nothing to keep and goes at once."""
    if not conversation.messages.exists():
        conversation.delete()
        return
    active = list(conversation.messages.filter(status__in=ACTIVE_STATUSES).values_list("pk", flat=True))
    for message_id in active:
        runtime.request_cancel(message_id)
    Conversation.objects.filter(pk=conversation.pk, deleted_at__isnull=True).update(deleted_at=timezone.now())


PURGE_BATCH = 500


def conversations_purge() -> int:
    """Hard-deletes conversations deleted more than CONVERSATION_RETENTION_DAYS
    ago, except those an open or confirmed review item still needs (the
    moderators read the conversation around the flagged text); returns how
    many went. Review items outlive the purge with their text, verdict,
    conversation and owner ids. At most PURGE_BATCH a run; beat runs it
    hourly (chatsite/tasks.py)."""
    from moderation.models import ReviewItem

    cutoff = timezone.now() - timedelta(days=settings.CONVERSATION_RETENTION_DAYS)
    needed = ReviewItem.objects.filter(
        status__in=[ReviewItem.Status.OPEN, ReviewItem.Status.CONFIRMED], conversation_id__isnull=False
    ).values("conversation_id")
    expired = list(
        Conversation.objects.filter(deleted_at__lt=cutoff)
        .exclude(pk__in=needed)
        .order_by("deleted_at")
        .values_list("pk", flat=True)[:PURGE_BATCH]
    )
    if not expired:
        return 0
    with transaction.atomic():
        # current_leaf points into the messages being deleted.
        Conversation.objects.filter(pk__in=expired).update(current_leaf=None)
        Conversation.objects.filter(pk__in=expired).delete()
    return len(expired)


def _check_content(content: str) -> None:
    if not content.strip():
        raise UserError("empty", "The message is empty.")
    if len(content) > settings.CHAT_MAX_MESSAGE_CHARS:
        raise UserError(
            "too_long",
            f"The message is {len(content):,} characters long; the limit is {settings.CHAT_MAX_MESSAGE_CHARS:,}.",
        )


def _limits_take(*, user, answers: int) -> None:
    """Admits `answers` new answers for `user` under the daily quota, the
    per-minute rate and the limit on answers being written at once, or
    raises UserError. Precondition: inside the transaction that stores
    them, which then holds the user's limits lock (usage.services): a
    parallel send waits and counts these, and a rollback takes them back."""
    answers_admit(user=user, answers=answers)
    running = Message.objects.filter(
        conversation__owner=user, role=Message.Role.ASSISTANT, status__in=ACTIVE_STATUSES
    ).count()
    if running + answers > settings.CHAT_MAX_CONCURRENT_GENERATIONS:
        raise UserError(
            "too_many_generations",
            f"{running} answers are still being written; wait for one to finish or stop it."
            if answers == 1
            else f"This writes {answers} answers at once and {running} are still being written; "
            f"wait for them to finish.",
        )


def _new_answer(*, conversation: Conversation, parent: Message, stop: list[str] | None = None) -> Message:
    sampling = {
        "temperature": conversation.temperature,
        "top_p": conversation.top_p,
        "max_new_tokens": conversation.max_new_tokens,
    }
    if stop:
        sampling["stop"] = list(stop)
    return Message.objects.create(
        conversation=conversation,
        parent=parent,
        role=Message.Role.ASSISTANT,
        status=MessageStatus.QUEUED,
        sampling=sampling,
        # The model the conversation picked, while chat offers it (else the serving one).
        model_version=answer_model_version(conversation),
    )


def _set_leaf(conversation: Conversation, leaf: Message) -> None:
    conversation.current_leaf = leaf
    conversation.save(update_fields=["current_leaf", "updated_at"])


def _history_store(*, conversation: Conversation, parent: Message | None, turns: list[dict]) -> Message:
    """Stores client-supplied turns (/v1's history: alternating user and
    assistant, as the client gave them) as a chain under `parent`, in two
    queries, and returns the last. They are marked as the client's where a
    verdict goes: input moderation judges them with the message that
    follows them, and until it has they are neither read by the model nor
    shared (chat.context)."""
    rows = Message.objects.bulk_create(
        [
            Message(
                conversation=conversation,
                role=turn["role"],
                content=turn["content"],
                moderation=client_turn_moderation(),
                status=MessageStatus.ACCEPTED if turn["role"] == Message.Role.USER else MessageStatus.COMPLETE,
            )
            for turn in turns
        ]
    )
    for above, row in zip([parent, *rows], rows, strict=False):
        row.parent = above
    Message.objects.bulk_update(rows, ["parent"])
    return rows[-1]


@retry_if_locked
@transaction.atomic
def message_send(
    *,
    user,
    conversation: Conversation | None,
    parent: Message | None,
    content: str,
    settings_values: dict | None = None,
    stop: list[str] | None = None,
    history: list[dict] | None = None,
    title: str | None = None,
    answers: int = 1,
) -> tuple[Conversation, Message, Message]:
    """Stores the user's message and a queued answer to it, then enqueues
    input moderation. `parent` is the answer this message follows (None
    starts the conversation); sending with an earlier message's parent is
    how edit-and-resend makes a sibling branch. `history` (/v1) is turns
    the client says came before, stored between `parent` and the message;
    `title` names a conversation this send starts (else its first words).
    `answers` is how many answers the send starts, for the limits (the
    arena adds its second with answer_add_for_version). Every limit is
    checked before anything is stored."""
    content = clean_text(content)
    _check_content(content)
    if parent is not None and (
        parent.conversation_id != getattr(conversation, "pk", None) or parent.role != Message.Role.ASSISTANT
    ):
        raise UserError("invalid_parent", "A message must follow an answer in the same conversation.")
    _limits_take(user=user, answers=answers)
    if conversation is None:
        conversation = conversation_create(owner=user, settings_values=settings_values)
    elif settings_values:
        conversation_update(conversation=conversation, values=settings_values)
    if not conversation.messages.exists() or conversation.title == NEW_CHAT_TITLE:
        conversation.title = title or _title_from(content) or NEW_CHAT_TITLE
        conversation.save(update_fields=["title"])
    if history:
        parent = _history_store(conversation=conversation, parent=parent, turns=history)
    user_message = Message.objects.create(
        conversation=conversation, parent=parent, role=Message.Role.USER, content=content, status=MessageStatus.PENDING
    )
    answer = _new_answer(conversation=conversation, parent=user_message, stop=stop)
    _set_leaf(conversation, answer)
    events.send_on_commit(conversation.pk, events.message_event(user_message))
    events.send_on_commit(conversation.pk, events.message_event(answer))
    transaction.on_commit(lambda: dispatch.moderation_dispatch(user_message.pk))
    return conversation, user_message, answer


def answer_add_for_version(*, question: Message, version) -> Message:
    """One more queued answer to `question`, written by model `version`
    (the arena's second side). Precondition: inside the transaction that
    sent `question`, so input moderation, queued on its commit, finds this
    answer among the queued ones it starts."""
    answer = _new_answer(conversation=question.conversation, parent=question)
    answer.model_version = version
    answer.save(update_fields=["model_version"])
    events.send_on_commit(question.conversation_id, events.message_event(answer))
    return answer


@transaction.atomic
def answer_regenerate(*, user, message: Message) -> Message:
    """A new answer beside `message`, to the same user turn. A system prompt
    changed since that turn was moderated is judged before the model reads
    it (chat.worker)."""
    if message.role != Message.Role.ASSISTANT:
        raise UserError("invalid_message", "Only an answer can be regenerated.")
    question = Message.objects.get(pk=message.parent_id)
    if question.status != MessageStatus.ACCEPTED or awaits_moderation(question):
        raise UserError("not_allowed", "This message was not accepted, so it cannot be answered again.")
    _limits_take(user=user, answers=1)
    conversation = message.conversation
    answer = _new_answer(conversation=conversation, parent=question)
    _set_leaf(conversation, answer)
    events.send_on_commit(conversation.pk, events.message_event(answer))
    transaction.on_commit(lambda: dispatch.generation_dispatch(answer.pk))
    return answer


@transaction.atomic
def answer_continue(*, user, message: Message) -> Message:
    """Writes on where an answer cut off at max_new_tokens stopped, as
    ChatGPT's Continue does: the same answer is queued again holding its
    text, the worker gives the model that text as the turn it is writing
    (selectors.model_context) and appends what follows, so the answer
    stays one message, read, rated and exported whole. Only the newest
    answer on its branch, as nothing written after it read the shorter
    text."""
    if message.role != Message.Role.ASSISTANT:
        raise UserError("invalid_message", "Only an answer can be continued.")
    message = Message.objects.select_for_update().get(pk=message.pk)
    if message.status != MessageStatus.COMPLETE or message.finish_reason != "length":
        raise UserError("not_allowed", "Only an answer cut off at the length limit can be continued.")
    if message.children.exists():
        raise UserError("not_allowed", "Only the newest answer can be continued.")
    _limits_take(user=user, answers=1)
    message.status = MessageStatus.QUEUED
    message.finish_reason = ""
    message.finished_at = None
    message.save(update_fields=["status", "finish_reason", "finished_at"])
    conversation = message.conversation
    _set_leaf(conversation, message)
    events.send_on_commit(conversation.pk, events.message_event(message))
    transaction.on_commit(lambda: dispatch.generation_dispatch(message.pk))
    return message


def generation_stop(*, message: Message) -> None:
    """Asks the worker to stop; an answer no worker has taken yet is
    stopped here and then."""
    if message.role != Message.Role.ASSISTANT:
        raise UserError("invalid_message", "Only an answer can be stopped.")
    runtime.request_cancel(message.pk)
    stopped = Message.objects.filter(pk=message.pk, status=MessageStatus.QUEUED).update(
        status=MessageStatus.STOPPED, finished_at=timezone.now()
    )
    if stopped:
        runtime.clear_cancel(message.pk)  # no worker will claim it now
        message.refresh_from_db()
        events.send_on_commit(message.conversation_id, events.message_event(message))


def conversation_select_branch(*, conversation: Conversation, message: Message) -> Message:
    leaf = latest_leaf_under(message)
    conversation.current_leaf = leaf
    conversation.save(update_fields=["current_leaf"])
    return leaf


def feedback_submit(*, user, message: Message, rating: int, reasons: list[str], comment: str) -> Feedback:
    if message.role != Message.Role.ASSISTANT:
        raise UserError("invalid_message", "Feedback goes on answers.")
    if rating not in (Feedback.Rating.UP, Feedback.Rating.DOWN):
        raise UserError("invalid_feedback", "Rating must be 1 (up) or -1 (down).")
    allowed = FEEDBACK_REASONS[rating]
    if not isinstance(reasons, list) or any(r not in allowed for r in reasons):
        raise UserError("invalid_feedback", f"Reasons must be chosen from: {', '.join(allowed)}.")
    if not isinstance(comment, str) or len(comment) > 4000:
        raise UserError("invalid_feedback", "The comment must be text of at most 4000 characters.")
    feedback, _ = Feedback.objects.update_or_create(
        message=message, user=user, defaults={"rating": rating, "reasons": reasons, "comment": clean_text(comment)}
    )
    if rating == Feedback.Rating.DOWN:
        answer_disliked.send(sender=Feedback, feedback=feedback)
    return feedback


REPORT_MAX_CHARS = 1000


def message_report(*, user, message: Message, reason) -> "ReviewItem":
    """Puts an answer the user finds wrong in the moderators' review queue,
    once: a second report waits until a moderator has decided the first."""
    from moderation.flags import review_item_report, review_report_is_open

    if message.role != Message.Role.ASSISTANT:
        raise UserError("invalid_message", "Only an answer can be reported.")
    if message.status in ACTIVE_STATUSES:
        raise UserError("not_allowed", "Wait for the answer to finish before reporting it.")
    if message.status == MessageStatus.MODERATED:
        raise UserError("not_allowed", "Moderation already replaced this answer; the moderators have it.")
    if not isinstance(reason, str) or len(reason) > REPORT_MAX_CHARS:
        raise UserError("invalid_report", f"The reason must be text of at most {REPORT_MAX_CHARS} characters.")
    already = UserError("already_reported", "You have reported this answer; a moderator will review it.")
    if review_report_is_open(message=message, user=user):
        raise already
    try:
        with transaction.atomic():
            return review_item_report(message=message, reported_by=user, reason=clean_text(reason).strip())
    except IntegrityError:  # a report sent twice at once
        raise already from None


def messages_reap_interrupted() -> list[int]:
    """Marks answers whose worker stopped beating its heart as interrupted,
    keeping the text they had, and tells the watching browsers. The one
    place this is decided: beat runs it every GENERATION_REAP_SECONDS
    (chatsite/tasks.py), so no page, socket or send polls for it."""
    streaming = Message.objects.filter(
        status=MessageStatus.STREAMING,
        started_at__lt=timezone.now() - timedelta(seconds=settings.GENERATION_HEARTBEAT_TIMEOUT),
    )
    candidates = list(streaming.values_list("pk", flat=True))
    alive = runtime.heartbeats_alive(candidates)
    reaped = []
    for message_id in (pk for pk in candidates if not alive[pk]):
        updated = Message.objects.filter(pk=message_id, status=MessageStatus.STREAMING).update(
            status=MessageStatus.INTERRUPTED,
            error="The worker writing this answer stopped. Regenerate to try again.",
            finished_at=timezone.now(),
        )
        if updated:
            message = Message.objects.get(pk=message_id)
            events.send_now(message.conversation_id, events.message_event(message))
            reaped.append(message_id)
    return reaped
