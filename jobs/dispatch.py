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

import logging
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from core.broker import broker_messages, task_send

from .models import TrainingJob

logger = logging.getLogger(__name__)


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
    return task_send(
        training_job_run_task, (job_id,), task_id=task_id, queue=settings.TRAINING_QUEUE, what=f"Training job {job_id}"
    )


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
    lost = [pk for pk, task_id in candidates if task_id not in waiting and delivered.get(task_id, 0.0) < fresh_since]
    for pk in lost:
        logger.warning("Training job %s is queued but its message is lost; sending it again", pk)
        training_job_dispatch(pk)
    return lost
