"""Celery beat ends work whose worker died, with nobody opening a page: a
training job without heartbeat fails, an answer without heartbeat is
interrupted, a queued job whose message was lost is sent again and runs
(real beat and worker processes)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chat.models import Conversation, Message, MessageStatus
from jobs.models import TrainingJob

from ..helpers.polling import eventually
from ..processes import start_celery_beat, start_celery_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.fixture
def housekeeping(app_env, process_log_dir):
    """Beat and a worker on queues of their own (housekeeping, training), on
    a one-second schedule."""
    env = dict(
        app_env,
        HOUSEKEEPING_SECONDS="1",
        HOUSEKEEPING_QUEUE="housekeeping-test",
        TRAINING_QUEUE="housekeeping-training-test",
        TRAINING_DISPATCH_GRACE_SECONDS="1",
        TRAINING_HEARTBEAT_TIMEOUT="2",
        GENERATION_HEARTBEAT_TIMEOUT="2",
    )
    worker = start_celery_worker(
        env,
        process_log_dir,
        queues="housekeeping-test,housekeeping-training-test",
        name="housekeeping-worker",
        concurrency=2,
    )
    beat = start_celery_beat(env, process_log_dir, name="housekeeping-beat")
    yield
    beat.stop()
    worker.stop()


def test_beat_fails_a_dead_job_and_interrupts_a_dead_answer(housekeeping, admin_user, base_version, sft_snapshot, user):
    long_ago = timezone.now() - timedelta(minutes=5)
    job = TrainingJob.objects.create(
        kind="sft",
        preset="cpu-quick",
        recipe="tests.jobs.fake_training.sft",
        created_by=admin_user,
        base_version=base_version,
        snapshot=sft_snapshot(["Fine."]),
        state="running",
        started_at=long_ago,
        heartbeat_at=long_ago,
    )
    conversation = Conversation.objects.create(owner=user)
    question = Message.objects.create(
        conversation=conversation, role="user", content="hi", status=MessageStatus.ACCEPTED
    )
    answer = Message.objects.create(
        conversation=conversation,
        role="assistant",
        parent=question,
        content="Half an ans",
        status=MessageStatus.STREAMING,
        started_at=long_ago,
    )
    eventually(lambda: TrainingJob.objects.get(pk=job.pk).state == "failed", timeout=30, what="the job failed by beat")
    eventually(
        lambda: Message.objects.get(pk=answer.pk).status == MessageStatus.INTERRUPTED,
        timeout=30,
        what="the answer interrupted by beat",
    )
    assert "stopped answering" in TrainingJob.objects.get(pk=job.pk).error
    assert Message.objects.get(pk=answer.pk).content == "Half an ans", "what was shown is kept"


def test_beat_sends_again_a_job_whose_message_was_lost_and_it_runs(
    housekeeping, fake_recipes, admin_user, base_version, sft_snapshot
):
    # Stored while Redis was down: queued, and no message was ever sent.
    job = TrainingJob.objects.create(
        kind="sft",
        preset="cpu-quick",
        recipe="tests.jobs.fake_training.sft",
        created_by=admin_user,
        base_version=base_version,
        snapshot=sft_snapshot(["Fine."]),
    )
    TrainingJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=1))
    eventually(
        lambda: TrainingJob.objects.get(pk=job.pk).state == "succeeded",
        timeout=60,
        what="the lost job sent again by beat and run",
    )
    job.refresh_from_db()
    assert job.task_id and job.dispatched_at is not None
