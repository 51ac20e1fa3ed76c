"""/ws/jobs/<id>/: only admins and the job's owner hear a job."""

import pytest
from channels.db import database_sync_to_async

from jobs.events import send_now
from jobs.models import TrainingJob, TrainingMetric

from ..helpers.sockets import connect_job

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def make_job(owner) -> TrainingJob:
    job = TrainingJob.objects.create(
        kind="sft",
        preset="cpu-quick",
        recipe="training.sft",
        created_by=owner,
        state="running",
        step=2,
        total_steps=10,
        elapsed_seconds=4.0,
        log_tail="step 1\nstep 2",
    )
    TrainingMetric.objects.create(job=job, step=1, elapsed_seconds=2.0, values={"loss": 2.5})
    TrainingMetric.objects.create(job=job, step=2, elapsed_seconds=4.0, values={"loss": 2.0})
    return job


async def test_the_owner_gets_the_job_then_live_events(trainer):
    job = await make_job(trainer)
    communicator, snapshot = await connect_job(job.pk, trainer)
    assert snapshot["type"] == "snapshot"
    assert snapshot["job"]["step"] == 2 and snapshot["job"]["total_steps"] == 10
    assert snapshot["job"]["eta_seconds"] == pytest.approx(16.0), "2 s a step, 8 steps left"
    assert snapshot["points"] == [
        {"step": 1, "elapsed_s": 2.0, "loss": 2.5},
        {"step": 2, "elapsed_s": 4.0, "loss": 2.0},
    ]
    assert snapshot["log"] == "step 1\nstep 2"
    await database_sync_to_async(send_now)(job.pk, {"type": "job.log", "lines": ["step 3"]})
    await database_sync_to_async(send_now)(job.pk, {"type": "job.metrics", "points": [{"step": 3, "loss": 1.5}]})
    assert await communicator.receive_json_from(timeout=5) == {"type": "log", "lines": ["step 3"]}
    assert await communicator.receive_json_from(timeout=5) == {"type": "metrics", "points": [{"step": 3, "loss": 1.5}]}
    await communicator.disconnect()


async def test_admins_hear_any_job(trainer, admin_user):
    job = await make_job(trainer)
    communicator, snapshot = await connect_job(job.pk, admin_user)
    assert snapshot["job"]["id"] == job.pk
    await communicator.disconnect()


@pytest.mark.parametrize("role", ["user", "annotator"])
async def test_others_are_closed(trainer, make_user, role):
    job = await make_job(trainer)
    outsider = await database_sync_to_async(make_user)(username=f"outsider-{role}", role=role)
    communicator, code = await connect_job(job.pk, outsider)
    assert code == 4403
    await communicator.disconnect()
    other_trainer = await database_sync_to_async(make_user)(username=f"t2-{role}")
    await database_sync_to_async(lambda: other_trainer.user_permissions.set(trainer.user_permissions.all()))()
    communicator, code = await connect_job(job.pk, other_trainer)
    assert code == 4403, "a trainer does not hear someone else's job"
    await communicator.disconnect()
    communicator, code = await connect_job(job.pk, None)
    assert code == 4401
    await communicator.disconnect()
