"""A training job's Celery message: sent when the job is stored, sent again
when the broker has lost it.

The database is the source of truth: a job is `queued` from the moment it
is stored, whether or not its message reached the broker. The message can
still go missing: Redis unreachable when the job was created, Redis
restarted without persistence, a worker killed while it held the message.
Housekeeping (Celery beat) finds queued jobs whose latest message is neither
waiting in the training queue nor freshly delivered to a worker, and sends a
new one. The runner's conditional claim (queued -> running) makes any
duplicate a no-op, so sending again is always safe.

The task acknowledges its message when it ends (acks_late), so a busy
training worker holds no second message behind the job it runs: a message
delivered and unacknowledged while its job is still queued belongs to a
worker that died.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

from chat.runtime import redis_client

from .models import TrainingJob

logger = logging.getLogger(__name__)

# kombu's Redis transport: the queue's lists (one per priority step after
# the first, named queue + separator + step), and the hash and its index of
# messages delivered to a consumer and not yet acknowledged.
_PRIORITY_SEPARATOR = "\x06\x16"
_UNACKED = "unacked"
_UNACKED_INDEX = "unacked_index"


def training_job_dispatch(job_id: int) -> bool:
    """Records a fresh task id on the queued job, then sends its message.
    False (logged) when the broker cannot be reached: the job stays queued
    and housekeeping sends it later."""
    from .tasks import training_job_run_task

    task_id = str(uuid.uuid4())
    if not TrainingJob.objects.filter(pk=job_id, state=TrainingJob.State.QUEUED).update(
        task_id=task_id, dispatched_at=timezone.now()
    ):
        return False
    try:
        training_job_run_task.apply_async((job_id,), task_id=task_id, queue=settings.TRAINING_QUEUE)
    except (KombuError, RedisError, OSError) as error:
        logger.warning("Training job %s is stored but its message was not sent (%s); housekeeping will send it",
                       job_id, error)
        return False
    return True


def training_jobs_redispatch_lost() -> list[int]:
    """Sends again the message of every queued job that was last sent over
    TRAINING_DISPATCH_GRACE_SECONDS ago and whose message is lost: not in
    the training queue, and not delivered to a worker within the grace
    period. Returns the ids of the jobs sent again."""
    grace = settings.TRAINING_DISPATCH_GRACE_SECONDS
    cutoff = timezone.now() - timedelta(seconds=grace)
    candidates = list(
        TrainingJob.objects.filter(state=TrainingJob.State.QUEUED)
        .filter(Q(dispatched_at__lt=cutoff) | Q(dispatched_at__isnull=True, created_at__lt=cutoff))
        .values_list("pk", "task_id")
    )
    if not candidates:
        return []
    waiting, delivered = broker_messages(settings.TRAINING_QUEUE)
    fresh_since = time.time() - grace
    lost = [pk for pk, task_id in candidates
            if task_id not in waiting and delivered.get(task_id, 0.0) < fresh_since]
    for pk in lost:
        logger.warning("Training job %s is queued but its message is lost; sending it again", pk)
        training_job_dispatch(pk)
    return lost


def broker_messages(queue: str) -> tuple[set[str], dict[str, float]]:
    """(task ids waiting in `queue`, {task id: delivery time} of messages
    delivered to a worker and not yet acknowledged), read from Redis (the
    broker is REDIS_URL's)."""
    client = redis_client()
    keys = [queue, *client.scan_iter(match=f"{queue}{_PRIORITY_SEPARATOR}*")]
    waiting = {_task_id(raw) for key in keys for raw in client.lrange(key, 0, -1)}
    delivered_at = {tag.decode(): score for tag, score in client.zrange(_UNACKED_INDEX, 0, -1, withscores=True)}
    delivered = {}
    for tag, raw in client.hgetall(_UNACKED).items():
        try:
            message = json.loads(raw)[0]
        except (ValueError, IndexError, TypeError):
            continue
        delivered[_task_id(message)] = delivered_at.get(tag.decode(), 0.0)
    waiting.discard(None)
    delivered.pop(None, None)
    return waiting, delivered


def _task_id(message) -> str | None:
    try:
        if isinstance(message, (bytes, str)):
            message = json.loads(message)
        return message["headers"]["id"]
    except (ValueError, KeyError, TypeError):
        return None
