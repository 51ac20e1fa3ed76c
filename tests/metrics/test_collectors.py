"""What /metrics reads when scraped: queue lengths and training jobs."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from core.telemetry.store import client
from jobs.models import TrainingJob

from .helpers import value

pytestmark = pytest.mark.django_db


def test_queue_lengths_are_read_from_the_broker(settings, metrics_prefix):
    """A queue of this test's own (a worker may be taking from the real
    ones), routed like any other; kombu keeps a priority step's messages in
    a list of their own."""
    queue = f"metrics-test-{uuid.uuid4().hex[:8]}"
    settings.CELERY_TASK_ROUTES = {**settings.CELERY_TASK_ROUTES, "tests.no_such_task": {"queue": queue}}
    redis = client()
    try:
        redis.lpush(queue, "m1", "m2", "m3")
        redis.lpush(f"{queue}\x06\x163", "m4")
        assert value("chatsite_celery_queue_length", queue=queue) == 4
    finally:
        redis.delete(queue, f"{queue}\x06\x163")
    assert value("chatsite_celery_queue_length", queue=queue) == 0


def _job(kind, state, seconds=None, started=True):
    now = timezone.now()
    return TrainingJob.objects.create(
        kind=kind,
        state=state,
        preset="cpu-quick",
        recipe=f"training.{kind}",
        started_at=now - timedelta(seconds=seconds or 5) if started else None,
        finished_at=now if seconds is not None or not started else None,
    )


def test_training_jobs_are_counted_and_timed():
    _job("sft", "succeeded", 90)
    _job("sft", "succeeded", 4000)
    _job("ppo", "failed", 30)
    _job("sft", "running")
    _job("dpo", "queued", started=False)
    _job("dpo", "cancelled", started=False)  # cancelled while queued: never ran, no duration

    assert value("chatsite_training_jobs", state="succeeded") == 2
    assert value("chatsite_training_jobs", state="running") == 1
    assert value("chatsite_training_jobs", state="cancelled") == 1
    assert value("chatsite_training_jobs", state="failed") == 1
    sft = {"kind": "sft", "state": "succeeded"}
    assert value("chatsite_training_job_duration_seconds_count", **sft) == 2
    assert value("chatsite_training_job_duration_seconds_sum", **sft) == pytest.approx(4090)
    assert value("chatsite_training_job_duration_seconds_bucket", le="60.0", **sft) == 0
    assert value("chatsite_training_job_duration_seconds_bucket", le="300.0", **sft) == 1
    assert value("chatsite_training_job_duration_seconds_bucket", le="7200.0", **sft) == 2
    assert value("chatsite_training_job_duration_seconds_bucket", le="60.0", kind="ppo", state="failed") == 1
    assert value("chatsite_training_job_duration_seconds_count", kind="dpo", state="cancelled") == 0
    assert value("chatsite_training_job_duration_seconds_count", kind="sft", state="running") == 0
