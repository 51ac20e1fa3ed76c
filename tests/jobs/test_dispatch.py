"""A queued job whose Celery message went missing is sent again: never sent
(Redis was down), dropped with Redis's state, or held by a worker that
died. Real Redis; no worker reads the queue these tests use."""

import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
import redis
from django.utils import timezone
from kombu.exceptions import OperationalError

from core.broker import broker_messages
from jobs.dispatch import training_job_dispatch, training_jobs_redispatch_lost
from jobs.models import TrainingJob
from jobs.services import training_job_create
from jobs.tasks import training_job_run_task

pytestmark = pytest.mark.django_db

# Takes one message off the queue without acknowledging it, says so, and
# waits to be killed: a worker that dies holding a job's message.
HOLDER = """
import sys, time
from kombu import Connection
with Connection(sys.argv[1]) as connection:
    message = connection.SimpleQueue(sys.argv[2]).get(timeout=10)
    print(message.headers["id"], flush=True)
    time.sleep(120)
"""


@pytest.fixture
def queue(settings):
    """A training queue of this test's own, with a 30 s grace period."""
    name = f"training-test-{uuid.uuid4().hex[:8]}"
    settings.TRAINING_QUEUE = name
    settings.TRAINING_DISPATCH_GRACE_SECONDS = 30
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    yield name
    client.delete(name)
    for tag, raw in client.hgetall("unacked").items():
        if name.encode() in raw:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)


def queued_job(sent_ago: timedelta | None = None) -> TrainingJob:
    job = TrainingJob.objects.create(kind="sft", preset="cpu-quick", recipe="tests.jobs.fake_training.sft")
    long_ago = timezone.now() - timedelta(minutes=10)
    TrainingJob.objects.filter(pk=job.pk).update(
        created_at=long_ago, dispatched_at=None if sent_ago is None else timezone.now() - sent_ago
    )
    return job


def age(job: TrainingJob, by: timedelta) -> None:
    TrainingJob.objects.filter(pk=job.pk).update(dispatched_at=timezone.now() - by)


def test_a_job_never_sent_is_sent_once(queue, settings):
    job = queued_job()
    assert training_jobs_redispatch_lost() == [job.pk]
    job.refresh_from_db()
    assert job.task_id and job.task_id in broker_messages(queue)[0]
    age(job, timedelta(hours=1))
    assert training_jobs_redispatch_lost() == [], "its message waits in the queue: a backlog, not a loss"
    assert redis.Redis.from_url(settings.CELERY_BROKER_URL).llen(queue) == 1


def test_a_message_lost_with_redis_state_is_sent_again(queue, settings):
    job = queued_job()
    assert training_job_dispatch(job.pk)
    job.refresh_from_db()
    first_id = job.task_id
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(queue)  # Redis restarted without persistence
    assert training_jobs_redispatch_lost() == [], "sent within the grace period"
    age(job, timedelta(minutes=1))
    assert training_jobs_redispatch_lost() == [job.pk]
    job.refresh_from_db()
    assert job.task_id != first_id and broker_messages(queue)[0] == {job.task_id}


def test_a_message_held_by_a_dead_worker_is_sent_again(queue, settings):
    job = queued_job()
    training_job_dispatch(job.pk)
    job.refresh_from_db()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, settings.CELERY_BROKER_URL, queue], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == job.task_id
    finally:
        holder.kill()
        holder.wait()
    waiting, delivered = broker_messages(queue)
    assert job.task_id not in waiting and job.task_id in delivered
    age(job, timedelta(minutes=1))
    assert training_jobs_redispatch_lost() == [], "delivered within the grace period: a worker may claim it"
    settings.TRAINING_DISPATCH_GRACE_SECONDS = 0
    assert training_jobs_redispatch_lost() == [job.pk]
    job.refresh_from_db()
    assert job.task_id in broker_messages(queue)[0]


def test_only_queued_jobs_are_sent_again(queue):
    job = queued_job()
    TrainingJob.objects.filter(pk=job.pk).update(state=TrainingJob.State.CANCELLED)
    assert training_jobs_redispatch_lost() == []
    assert not training_job_dispatch(job.pk)
    assert broker_messages(queue) == (set(), {})


def test_a_job_stored_while_the_broker_is_down_waits_for_housekeeping(
    queue, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to localhost:6379. Connection refused.")

    monkeypatch.setattr(training_job_run_task, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        job = training_job_create(created_by=None, kind="sft", preset="cpu-quick", hyperparameters={})
    job.refresh_from_db()
    assert job.state == TrainingJob.State.QUEUED and job.dispatched_at is not None
    assert "housekeeping will send it" in caplog.text
    monkeypatch.undo()
    age(job, timedelta(minutes=1))
    assert training_jobs_redispatch_lost() == [job.pk]
    assert broker_messages(queue)[0] == {TrainingJob.objects.get(pk=job.pk).task_id}
