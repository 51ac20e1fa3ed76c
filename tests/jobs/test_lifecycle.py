"""A job's whole life with real parts: the form, the Celery worker process
on the training queue, the recipe as its subprocess (the stand-in recipes
of fake_training), Redis as broker, channel layer and cancel flag."""

import json
import time
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from jobs.models import TrainingJob
from registry.models import ModelVersion
from registry.services import model_version_promote

from ..helpers.polling import eventually
from ..helpers.sockets import connect_job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

FINAL = ("succeeded", "failed", "cancelled")


def start_job(user, **fields) -> TrainingJob:
    client = Client()
    client.force_login(user)
    data = {"kind": "sft", "preset": "cpu-quick", **fields}
    data["hyperparameters"] = json.dumps(data.get("hyperparameters", {}))
    response = client.post("/jobs/new/", data)
    assert response.status_code == 302, response.context["form"].errors
    return TrainingJob.objects.order_by("-pk").first()


def finished(job: TrainingJob, timeout: float = 60.0) -> TrainingJob:
    def done():
        job.refresh_from_db()
        return job.state in FINAL

    eventually(done, timeout=timeout, what=f"job #{job.pk} finishing (state {job.state})")
    return job


async def test_a_job_runs_reports_progress_live_and_registers_its_model(
    celery_worker, fake_recipes, admin_user, base_version, sft_snapshot
):
    snapshot = await database_sync_to_async(sft_snapshot)(["Paris is the capital.", "Two plus two is four."])
    job = await database_sync_to_async(start_job)(
        admin_user,
        base_version=base_version.pk,
        snapshot=snapshot.pk,
        hyperparameters={"max_steps": 8, "step_seconds": 0.25},
    )
    communicator, first = await connect_job(job.pk, admin_user)
    assert first["type"] == "snapshot"
    frames = []
    while True:
        frame = await communicator.receive_json_from(timeout=60)
        frames.append(frame)
        if frame["type"] == "progress" and frame["job"]["state"] in FINAL:
            break
    await communicator.disconnect()
    final = frames[-1]["job"]
    assert final["state"] == "succeeded", final
    steps = [f["job"]["step"] for f in frames if f["type"] == "progress" and f["job"]["state"] == "running"]
    assert any(0 < s < 8 for s in steps), f"progress arrives while it runs, not only at the end: {steps}"
    assert steps == sorted(steps)
    assert any(f["job"]["eta_seconds"] for f in frames if f["type"] == "progress" and f["job"]["state"] == "running")
    streamed = [p["step"] for f in frames if f["type"] == "metrics" for p in f["points"]]
    assert sorted(set(streamed + [p["step"] for p in first["points"]])) == list(range(1, 9))
    streamed_log = [line for f in frames if f["type"] == "log" for line in f["lines"]]
    assert any("step 8/8" in line for line in streamed_log) or "step 8/8" in first["log"]
    assert "[job] Registered model version" in streamed_log[-1], "the last note arrives before the final state"

    await database_sync_to_async(check_registered)(job.pk, base_version, snapshot)


def check_registered(job_id, base_version, snapshot):
    job = TrainingJob.objects.get(pk=job_id)
    assert job.step == 8 and job.total_steps == 8 and job.exit_code == 0 and job.compute_seconds > 1.5
    assert job.metrics.count() == 8 and job.metrics.last().values == {"loss": 0.25, "accuracy": 1.0}
    version = job.output_version
    assert final_fields(version) == ("policy", "trained", base_version.pk, snapshot.pk, False)
    assert (Path(version.path) / "config.json").is_file() and (Path(version.path) / "summary.json").is_file()
    lineage = version.metadata["lineage"]
    assert (
        lineage["snapshot"]["content_hash"] == snapshot.content_hash and lineage["base_version"]["name"] == "tiny-base"
    )
    assert (
        lineage["config"]["train_file"].endswith(f"jobs/{job.pk}/train.jsonl") and lineage["config"]["max_steps"] == 8
    )
    assert lineage["code_version"].startswith("git:") and lineage["metrics"] == {"loss": 0.25}
    exported = [json.loads(line) for line in Path(lineage["config"]["train_file"]).read_text().splitlines()]
    assert exported[0]["messages"][-1] == {"role": "assistant", "content": "Paris is the capital."}
    assert "step 8/8" in (Path(job.directory) / "log.txt").read_text()


def final_fields(version: ModelVersion):
    return version.kind, version.source, version.base_id, version.snapshot_id, version.is_serving


def test_cancel_stops_the_recipe_within_seconds_and_keeps_its_output(
    celery_worker, fake_recipes, admin_user, base_version, sft_snapshot
):
    snapshot = sft_snapshot(["An answer."])
    job = start_job(
        admin_user, base_version=base_version.pk, snapshot=snapshot.pk, hyperparameters={"max_steps": 10_000}
    )
    eventually(lambda: TrainingJob.objects.get(pk=job.pk).step >= 2, what="two steps")
    client = Client()
    client.force_login(admin_user)
    asked = time.monotonic()
    assert client.post(f"/jobs/{job.pk}/cancel/").status_code == 302
    job = finished(job, timeout=15)
    took = time.monotonic() - asked
    assert job.state == "cancelled" and job.exit_code == 0, (job.state, job.error, job.log_tail[-500:])
    assert took < 10, f"cancel took {took:.1f}s"
    summary = json.loads((Path(job.directory) / "output" / "summary.json").read_text())
    assert summary["status"] == "stopped" and 2 <= summary["steps"] < 10_000
    assert (Path(job.directory) / "output" / "config.json").is_file(), "what the recipe wrote is kept"
    assert "Cancel requested" in job.log_tail and not ModelVersion.objects.filter(job=job).exists()


def test_bad_data_fails_the_job_with_its_log_and_leaves_serving_alone(
    celery_worker, fake_recipes, admin_user, base_version, sft_snapshot
):
    model_version_promote(version=base_version)
    snapshot = sft_snapshot(["Fine.", "This one is a BAD_EXAMPLE."])
    job = finished(start_job(admin_user, base_version=base_version.pk, snapshot=snapshot.pk))
    assert job.state == "failed" and job.exit_code == 1
    assert job.error == "The recipe exited with code 1: error: train_file line 2 is not a valid example"
    assert "line 2 is not a valid example" in job.log_tail
    assert list(ModelVersion.objects.filter(is_serving=True)) == [base_version]
    assert ModelVersion.objects.count() == 1


def test_a_recipe_killed_by_the_system_fails_the_job(
    celery_worker, fake_recipes, admin_user, base_version, sft_snapshot
):
    snapshot = sft_snapshot(["KILL_ME please."])
    job = finished(start_job(admin_user, base_version=base_version.pk, snapshot=snapshot.pk))
    assert job.state == "failed" and job.exit_code == -9
    assert job.error == "The recipe was killed by SIGKILL (out of memory?)."
    assert "step 1/6" in job.log_tail and job.metrics.count() == 1 and not ModelVersion.objects.filter(job=job).exists()


def test_a_key_the_recipe_does_not_know_fails_with_its_message(
    celery_worker, fake_recipes, admin_user, base_version, sft_snapshot
):
    snapshot = sft_snapshot(["Fine."])
    job = finished(
        start_job(admin_user, base_version=base_version.pk, snapshot=snapshot.pk, hyperparameters={"bogus": 1})
    )
    assert job.state == "failed" and job.error.endswith("unknown config key 'bogus'")


def test_a_changed_snapshot_file_fails_before_the_recipe_starts(
    celery_worker, fake_recipes, admin_user, base_version, sft_snapshot, settings
):
    snapshot = sft_snapshot(["Fine."])
    path = settings.DATA_DIR / snapshot.path
    path.chmod(0o644)
    path.write_text(path.read_text().replace("Fine.", "Changed."))
    job = finished(start_job(admin_user, base_version=base_version.pk, snapshot=snapshot.pk))
    assert job.state == "failed" and "no longer has its recorded hash" in job.error and job.exit_code is None


def test_prompts_of_evaluation_sets_never_reach_training(
    celery_worker, fake_recipes, admin_user, base_version, sft_snapshot
):
    """No version trains on what it is judged on: the export a job trains
    on loses the prompts of every evaluation set, and says so in its log."""
    from evaluation.services import evaluation_set_create

    snapshot = sft_snapshot(["One.", "Two.", "Three."], name="held")
    rows = [json.loads(line) for line in (fake_recipes.DATA_DIR / snapshot.path).read_text().splitlines()]
    evaluation_set_create(
        name="held-out", purpose="general", source="import", prompts=[rows[1]["messages"]], created_by=None
    )
    job = finished(start_job(admin_user, base_version=base_version.pk, snapshot=snapshot.pk))
    assert job.state == "succeeded", job.error
    trained = (Path(job.directory) / "train.jsonl").read_text()
    assert rows[1]["messages"][0]["content"] not in trained and rows[0]["messages"][0]["content"] in trained
    assert (
        "Left out 1 of 3 examples: their prompts are in evaluation sets."
        in (Path(job.directory) / "log.txt").read_text()
    )

    evaluation_set_create(
        name="all", purpose="general", source="import", prompts=[r["messages"] for r in rows], created_by=None
    )
    job = finished(start_job(admin_user, base_version=base_version.pk, snapshot=snapshot.pk))
    assert job.state == "failed" and "once the 3 held out for evaluation sets are left out" in job.error


def test_reward_then_ppo_jobs_chain_their_versions(
    celery_worker, fake_recipes, admin_user, base_version, sft_snapshot, preference_snapshot
):
    prefs = preference_snapshot(pairs=3)
    reward = finished(start_job(admin_user, kind="reward", base_version=base_version.pk, snapshot=prefs.pk))
    assert reward.state == "succeeded", reward.error
    reward_model = reward.output_version
    assert reward_model.kind == "reward"
    pairs = [json.loads(line) for line in (Path(reward.directory) / "train.jsonl").read_text().splitlines()]
    assert len(pairs) == 3 and {"prompt", "chosen", "rejected", "margin", "group_id"} <= set(pairs[0])
    demos = sft_snapshot(["One.", "Two."], name="ppo-prompts")
    ppo = finished(
        start_job(
            admin_user, kind="ppo", base_version=base_version.pk, reward_version=reward_model.pk, snapshot=demos.pk
        )
    )
    assert ppo.state == "succeeded", ppo.error
    assert ppo.config["reward_model"] == reward_model.path and ppo.config["policy_model"] == base_version.path
    prompts = [json.loads(line) for line in Path(ppo.config["prompts_file"]).read_text().splitlines()]
    assert len(prompts) == 2 and prompts[0]["prompt"][-1]["role"] == "user"
    assert ppo.metrics.last().values["reward"] == pytest.approx(0.6)
    assert ppo.output_version.metadata["lineage"]["reward_version"]["id"] == reward_model.pk


def test_a_worker_killed_mid_job_leaves_it_failed_and_its_recipe_dead(
    app_env, process_log_dir, fake_recipes, admin_user, base_version, sft_snapshot, settings
):
    """A worker of its own on a queue of its own, so killing it spares the
    shared one. The recipe dies with it; the reaper fails the job; the
    serving model is untouched; a worker started in its place runs the next
    job (the slot is free)."""
    from jobs.tasks import training_job_run_task

    from ..processes import start_celery_worker

    model_version_promote(version=base_version)
    worker = start_celery_worker(
        app_env, process_log_dir, queues="jobs-kill-test", name="jobs-kill-test", concurrency=1
    )
    try:
        snapshot = sft_snapshot(["Fine."])
        # Created without the service, which would enqueue it on the shared queue.
        job = TrainingJob.objects.create(
            kind="sft",
            preset="cpu-quick",
            recipe="tests.jobs.fake_training.sft",
            created_by=admin_user,
            base_version=base_version,
            snapshot=snapshot,
            hyperparameters={"max_steps": 10_000, "step_seconds": 0.1},
        )
        training_job_run_task.apply_async(args=[job.pk], queue="jobs-kill-test")
        eventually(lambda: TrainingJob.objects.get(pk=job.pk).step >= 2, what="two steps")
        worker.kill()
    finally:
        worker.stop()
    metrics = Path(TrainingJob.objects.get(pk=job.pk).directory) / "output" / "metrics.jsonl"
    time.sleep(1.0)
    size = metrics.stat().st_size
    time.sleep(1.5)
    assert metrics.stat().st_size == size, "the recipe died with its worker"
    settings.TRAINING_HEARTBEAT_TIMEOUT = 2
    client = Client()
    client.force_login(admin_user)
    assert client.get(f"/jobs/{job.pk}/").status_code == 200
    job.refresh_from_db()
    assert job.state == "failed" and "stopped answering" in job.error
    assert list(ModelVersion.objects.filter(is_serving=True)) == [base_version]
    assert not ModelVersion.objects.filter(job=job).exists()

    worker.restart()
    try:
        next_job = TrainingJob.objects.create(
            kind="sft",
            preset="cpu-quick",
            recipe="tests.jobs.fake_training.sft",
            created_by=admin_user,
            base_version=base_version,
            snapshot=snapshot,
            hyperparameters={"max_steps": 3, "step_seconds": 0.05},
        )
        training_job_run_task.apply_async(args=[next_job.pk], queue="jobs-kill-test")
        eventually(
            lambda: TrainingJob.objects.get(pk=next_job.pk).state == "succeeded", timeout=120, what="the next job"
        )
    finally:
        worker.stop()
    assert list(ModelVersion.objects.filter(is_serving=True)) == [base_version]


def test_a_cancelled_job_resumed_from_its_page_goes_on_from_its_checkpoint(
    celery_worker, fake_recipes, admin_user, base_version, sft_snapshot
):
    snapshot = sft_snapshot(["An answer."])
    job = start_job(
        admin_user,
        base_version=base_version.pk,
        snapshot=snapshot.pk,
        hyperparameters={"max_steps": 14, "step_seconds": 0.25},
    )
    eventually(lambda: TrainingJob.objects.get(pk=job.pk).step >= 3, what="three steps")
    client = Client()
    client.force_login(admin_user)
    client.post(f"/jobs/{job.pk}/cancel/")
    job = finished(job, timeout=15)
    assert job.state == "cancelled", (job.error, job.log_tail[-500:])
    stopped_at = json.loads((Path(job.directory) / "output" / "summary.json").read_text())["steps"]
    assert 3 <= stopped_at < 14 and job.step == stopped_at
    first_compute = job.compute_seconds

    assert client.post(f"/jobs/{job.pk}/resume/").status_code == 302
    job = finished(job)
    assert job.state == "succeeded", (job.error, job.log_tail[-1000:])
    assert job.resumed_from_step == stopped_at and job.step == 14
    assert [m.step for m in job.metrics.order_by("id")] == list(range(1, 15)), "each step's point once"
    assert "[job] Resumed: the recipe goes on from its checkpoint" in job.log_tail
    assert f"sft: resumed from step {stopped_at}" in job.log_tail, "the recipe's own line"
    assert f"[job] The recipe resumed from step {stopped_at}" in job.log_tail
    assert f"resumed from step {stopped_at}" in client.get(f"/jobs/{job.pk}/").content.decode()
    assert job.compute_seconds > first_compute, "compute counts both runs"
    version = job.output_version
    assert version.metadata["lineage"]["resumed_from_step"] == stopped_at and not version.is_serving
    full_log = (Path(job.directory) / "log.txt").read_text()
    assert "Cancel requested" in full_log and full_log.index("Cancel requested") < full_log.index("[job] Resumed")


def test_a_job_failed_with_its_killed_worker_resumes_and_its_repeated_steps_replace_theirs(
    celery_worker, app_env, process_log_dir, fake_recipes, admin_user, base_version, sft_snapshot, settings
):
    """Killed between checkpoints (every 4 steps), the recipe repeats the
    steps after its last one: their points from the killed run go, and the
    points it wrote that its dead worker never stored are kept."""
    from jobs.tasks import training_job_run_task

    from ..processes import start_celery_worker

    worker = start_celery_worker(
        app_env, process_log_dir, queues="jobs-resume-test", name="jobs-resume-test", concurrency=1
    )
    try:
        snapshot = sft_snapshot(["Fine."])
        job = TrainingJob.objects.create(
            kind="sft",
            preset="cpu-quick",
            recipe="tests.jobs.fake_training.sft",
            created_by=admin_user,
            base_version=base_version,
            snapshot=snapshot,
            hyperparameters={"max_steps": 24, "step_seconds": 0.15, "checkpoint_every": 4},
        )
        training_job_run_task.apply_async(args=[job.pk], queue="jobs-resume-test")
        eventually(lambda: TrainingJob.objects.get(pk=job.pk).step >= 6, what="six steps")
        worker.kill()
    finally:
        worker.stop()
    settings.TRAINING_HEARTBEAT_TIMEOUT = 2
    client = Client()
    client.force_login(admin_user)
    eventually(
        lambda: client.get(f"/jobs/{job.pk}/") and TrainingJob.objects.get(pk=job.pk).state == "failed",
        what="the reaper failing the job",
    )
    job.refresh_from_db()
    written = [
        json.loads(line)["step"] for line in (Path(job.directory) / "output" / "metrics.jsonl").read_text().splitlines()
    ]
    checkpoint = json.loads((Path(job.directory) / "output" / "checkpoint" / "state.json").read_text())["step"]
    assert checkpoint % 4 == 0 and checkpoint < written[-1], "killed after steps past its checkpoint"

    assert client.post(f"/jobs/{job.pk}/resume/").status_code == 302
    job = finished(job)
    assert job.state == "succeeded", (job.error, job.log_tail[-1000:])
    assert job.resumed_from_step == checkpoint
    assert [m.step for m in job.metrics.order_by("step", "id")] == list(range(1, 25)), "each step's point once"
