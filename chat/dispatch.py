"""A chat message's Celery messages: moderation of a stored user message,
generation of a queued answer; sent again when the broker has lost them.

The database is the source of truth: a user message is `pending` and its
answer `queued` from the moment they are stored, whether or not the task
reached the broker. The task can still go missing: Redis unreachable at
that moment, Redis restarted without persistence, a worker killed after
taking the message (chat tasks acknowledge on receipt). Housekeeping
(chatsite/tasks.py) finds pending messages and queued answers older than
CHAT_DISPATCH_GRACE_SECONDS whose task is neither waiting in its queue nor
held by a worker, and sends it again.

Task ids are derived from the message id, so the broker can be searched for
them without storing anything. Sending twice is safe: moderation acts only
on a pending message and generation claims its answer (queued ->
streaming) before it starts.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from core.broker import broker_messages, task_send

from .models import Message, MessageStatus

logger = logging.getLogger(__name__)


def moderation_task_id(message_id: int) -> str:
    return f"chat-moderate-{message_id}"


def generation_task_id(answer_id: int) -> str:
    return f"chat-generate-{answer_id}"


def moderation_dispatch(message_id: int) -> bool:
    from .tasks import moderate_user_message_task

    return _send(moderate_user_message_task, message_id, moderation_task_id(message_id))


def generation_dispatch(answer_id: int) -> bool:
    from .tasks import generate_answer_task

    return _send(generate_answer_task, answer_id, generation_task_id(answer_id))


def _send(task, message_id: int, task_id: str) -> bool:
    return task_send(task, (message_id,), task_id=task_id, what=f"Message {message_id}")


def chat_work_redispatch_lost() -> list[int]:
    """Sends again the lost task of every pending user message and every
    queued answer (whose question was accepted) stored over the grace
    period ago. Returns the ids of the messages whose task was sent again."""
    cutoff = timezone.now() - timedelta(seconds=settings.CHAT_DISPATCH_GRACE_SECONDS)
    pending = list(
        Message.objects.filter(status=MessageStatus.PENDING, created_at__lt=cutoff).values_list("pk", flat=True)
    )
    queued = list(
        Message.objects.filter(
            status=MessageStatus.QUEUED, created_at__lt=cutoff, parent__status=MessageStatus.ACCEPTED
        ).values_list("pk", flat=True)
    )
    lost = []
    for ids, queue, task_id, dispatch in (
        (pending, "moderation", moderation_task_id, moderation_dispatch),
        (queued, "generation", generation_task_id, generation_dispatch),
    ):
        if not ids:
            continue
        waiting, delivered = broker_messages(queue)
        for message_id in ids:
            if task_id(message_id) not in waiting and task_id(message_id) not in delivered:
                logger.warning("Message %s waits for a task the broker lost; sending it again", message_id)
                dispatch(message_id)
                lost.append(message_id)
    return lost
