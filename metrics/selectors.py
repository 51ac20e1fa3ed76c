"""What /metrics reads when it is scraped: the Celery queues' lengths from
the broker, the training jobs from the database."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count
from kombu.transport.redis import Channel

from core.telemetry.store import client
from jobs.models import TrainingJob


def celery_queues() -> list[str]:
    """Every queue a task or the beat schedule is routed to, and the default one."""
    routed = [route["queue"] for route in settings.CELERY_TASK_ROUTES.values()]
    scheduled = [
        entry["options"]["queue"]
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if "queue" in entry.get("options", {})
    ]
    return sorted({settings.CELERY_TASK_DEFAULT_QUEUE, *routed, *scheduled})


def celery_queue_lengths(queues: list[str]) -> dict[str, int]:
    """Messages waiting in each queue, not yet delivered to a worker. The
    broker is REDIS_URL's; kombu keeps a queue as one list per priority
    step, the first named after the queue (see jobs/dispatch.py)."""
    lists = {
        queue: [queue if step == 0 else f"{queue}{Channel.sep}{step}" for step in Channel.priority_steps]
        for queue in queues
    }
    pipe = client().pipeline(transaction=False)
    for names in lists.values():
        for name in names:
            pipe.llen(name)
    sizes = iter(pipe.execute())
    return {queue: sum(next(sizes) for _ in names) for queue, names in lists.items()}


def training_job_counts() -> dict[str, int]:
    """Jobs in each state, every state present."""
    counts = dict(TrainingJob.objects.order_by().values_list("state").annotate(count=Count("pk")))
    return {state: counts.get(state, 0) for state in TrainingJob.State.values}


def training_job_durations() -> list[tuple[str, str, float]]:
    """(kind, state, seconds from start to end) of each job that ran and
    ended. Jobs are few (each runs minutes to hours), so every scrape reads
    them all: the figures stay exact with no counter to keep."""
    rows = TrainingJob.objects.filter(started_at__isnull=False, finished_at__isnull=False).order_by()
    return [
        (kind, state, (finished - started).total_seconds())
        for kind, state, started, finished in rows.values_list("kind", "state", "started_at", "finished_at")
    ]
