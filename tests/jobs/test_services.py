"""The jobs app's pieces without a worker: claiming, cancelling a queued
job, the reaper, the metrics tail, ETA, the recipe command line."""
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from jobs.models import TrainingJob
from jobs.recipes import recipe_command
from jobs.runner import _MetricsTail, training_job_run
from jobs.serializers import eta_seconds
from jobs.services import training_job_cancel, training_jobs_reap_stale

pytestmark = pytest.mark.django_db


def job(**fields) -> TrainingJob:
    fields = {"kind": "sft", "preset": "cpu-quick", "recipe": "tests.jobs.fake_training.sft", **fields}
    return TrainingJob.objects.create(**fields)


def test_a_queued_job_cancelled_never_runs():
    queued = job()
    training_job_cancel(job=queued)
    assert queued.state == "cancelled" and queued.finished_at is not None
    training_job_run(job_id=queued.pk)  # the task arriving late
    queued.refresh_from_db()
    assert queued.state == "cancelled" and queued.started_at is None and queued.directory == ""


def test_a_job_delivered_twice_runs_once():
    running = job(state="running", directory="/elsewhere")
    training_job_run(job_id=running.pk)
    running.refresh_from_db()
    assert running.state == "running" and running.directory == "/elsewhere"


def test_cancelling_a_running_job_flags_it_for_its_worker():
    from jobs import runtime

    running = job(state="running")
    training_job_cancel(job=running)
    assert running.state == "running" and running.cancel_requested
    assert runtime.is_cancel_requested(running.pk)
    runtime.clear_cancel(running.pk)


def test_the_reaper_fails_only_jobs_whose_heartbeat_is_stale(settings):
    settings.TRAINING_HEARTBEAT_TIMEOUT = 30
    now = timezone.now()
    stale = job(state="running", heartbeat_at=now - timedelta(seconds=31))
    alive = job(state="running", heartbeat_at=now - timedelta(seconds=5))
    done = job(state="succeeded", heartbeat_at=now - timedelta(hours=1))
    assert training_jobs_reap_stale() == [stale.pk]
    states = dict(TrainingJob.objects.values_list("pk", "state"))
    assert states == {stale.pk: "failed", alive.pk: "running", done.pk: "succeeded"}
    assert "no heartbeat for 30 s" in TrainingJob.objects.get(pk=stale.pk).error


def test_the_metrics_tail_waits_for_whole_lines(tmp_path):
    path = tmp_path / "metrics.jsonl"
    tail = _MetricsTail(path)
    assert tail.read() == [], "no file yet"
    path.write_text('{"step": 1, "loss": 2.0}\n{"step": 2, "lo')
    assert tail.read() == [{"step": 1, "loss": 2.0}]
    with open(path, "a") as stream:
        stream.write('ss": 1.5}\nnot json\n{"no_step": 1}\n{"step": 3}\n')
    assert tail.read() == [{"step": 2, "loss": 1.5}, {"step": 3}]
    assert tail.read() == []


def test_eta_is_the_pace_so_far_times_the_steps_left():
    assert eta_seconds(TrainingJob(state="running", step=10, total_steps=40, elapsed_seconds=20.0)) == 60.0
    assert eta_seconds(TrainingJob(state="running", step=0, total_steps=40, elapsed_seconds=1.0)) is None
    assert eta_seconds(TrainingJob(state="succeeded", step=40, total_steps=40, elapsed_seconds=80.0)) is None


def test_the_recipe_command_line():
    assert recipe_command(module="training.sft", config_path="/j/1/config.json") == [
        sys.executable, "-m", "training.sft", "--config", "/j/1/config.json"
    ]
    assert recipe_command(module="training.pretrain", config_path="c.json", nproc=4)[:6] == [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=4", "-m"
    ]
    with pytest.raises(ValueError):
        recipe_command(module="training.sft; rm -rf /", config_path="c.json")


@pytest.mark.django_db(transaction=True)
def test_a_recipe_that_ignores_sigterm_is_killed_after_the_grace_period(fake_recipes, base_version, sft_snapshot):
    """The run in this process (no worker), so the grace period is this
    test's setting."""
    import threading
    import time

    from jobs import runtime

    fake_recipes.TRAINING_CANCEL_GRACE_SECONDS = 1.0
    snapshot = sft_snapshot(["IGNORE_TERM"])
    stubborn = job(base_version=base_version, snapshot=snapshot, hyperparameters={"max_steps": 10_000, "step_seconds": 0.1})
    run = threading.Thread(target=training_job_run, kwargs={"job_id": stubborn.pk})
    run.start()
    deadline = time.monotonic() + 60
    while TrainingJob.objects.get(pk=stubborn.pk).step < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    asked = time.monotonic()
    runtime.request_cancel(stubborn.pk)
    run.join(timeout=30)
    stubborn.refresh_from_db()
    assert stubborn.state == "cancelled" and stubborn.exit_code == -9
    assert "did not stop in time: killed (SIGKILL)" in stubborn.log_tail
    assert time.monotonic() - asked < 10


@pytest.mark.django_db(transaction=True)
def test_the_multi_gpu_preset_runs_the_recipe_under_torchrun(fake_recipes, base_version, sft_snapshot):
    """Two processes on this CPU stand in for two GPUs; rank 0 alone writes."""
    fake_recipes.TRAINING_NPROC_PER_NODE = 2
    snapshot = sft_snapshot(["Fine."])
    multi = job(preset="multi-gpu", base_version=base_version, snapshot=snapshot, hyperparameters={"max_steps": 4})
    training_job_run(job_id=multi.pk)
    multi.refresh_from_db()
    assert multi.state == "succeeded", (multi.error, multi.log_tail[-2000:])
    assert "-m torch.distributed.run --standalone --nproc_per_node=2 -m tests.jobs.fake_training.sft" in multi.log_tail
    assert "rank 0 of 2" in multi.log_tail and "rank 1 of 2" in multi.log_tail
    assert multi.metrics.count() == 4, "one series, from rank 0"
    assert multi.compute_seconds >= 2 * 0.8, "two processes' time"


@pytest.mark.django_db(transaction=True)
def test_a_recipe_sees_none_of_the_sites_secrets(fake_recipes, base_version, sft_snapshot, monkeypatch):
    """What a recipe prints lands in log.txt, which the trainer reads: a
    crash dump or a library that logs its environment must find no secret."""
    secrets = {
        "SECRET_KEY": "django-secret-4f1c", "DATABASE_URL": "postgres://chatsite:db-pass-9a2e@db/chatsite",
        "OPENAI_API_KEY": "sk-upstream-7b3d", "METRICS_TOKEN": "scrape-token-1e8f", "REDIS_URL": "redis://:redis-pass-5c6a@r/0",
    }
    for name, value in {**secrets, "HF_HOME": "/models/hf", "CUDA_VISIBLE_DEVICES": "0", "OMP_NUM_THREADS": "2"}.items():
        monkeypatch.setenv(name, value)
    leaky = job(base_version=base_version, snapshot=sft_snapshot(["PRINT_ENV"]), hyperparameters={"max_steps": 1})
    training_job_run(job_id=leaky.pk)
    leaky.refresh_from_db()
    assert leaky.state == "succeeded", (leaky.error, leaky.log_tail[-2000:])
    log = (Path(leaky.directory) / "log.txt").read_text()
    assert [name for name, value in secrets.items() if value in log] == []
    for kept in ("PATH=", "HOME=", "HF_HOME=/models/hf", "CUDA_VISIBLE_DEVICES=0", "OMP_NUM_THREADS=2", "PYTHONUNBUFFERED=1"):
        assert f"env {kept}" in log
