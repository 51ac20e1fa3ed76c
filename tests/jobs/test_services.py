"""The jobs app's pieces without a worker: claiming, cancelling a queued
job, resuming, the reaper, the metrics tail, ETA, the recipe command line,
the recipe table."""

import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from core.errors import UserError
from jobs.models import TrainingJob
from jobs.recipes import DATA_KEYS, RECIPES, RESERVED_KEYS, recipe_command
from jobs.runner import _DATA_WRITERS, _MetricsTail, training_job_run
from jobs.serializers import eta_seconds
from jobs.services import training_job_cancel, training_job_resume, training_jobs_reap_stale

from ..helpers.polling import eventually
from ..helpers.threads import database_thread

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


def test_only_a_failed_or_cancelled_job_is_queued_again(django_capture_on_commit_callbacks):
    earlier = timezone.now() - timedelta(minutes=5)
    failed = job(
        state="failed",
        error="The recipe was killed by SIGKILL.",
        exit_code=-9,
        finished_at=earlier,
        heartbeat_at=earlier - timedelta(seconds=1),
        directory="/data/jobs/1",
        step=40,
    )
    cancelled = job(state="cancelled", cancel_requested=True, finished_at=earlier)
    with django_capture_on_commit_callbacks() as callbacks:
        training_job_resume(job=failed)
        training_job_resume(job=cancelled)
    assert len(callbacks) == 4, "each sends its progress and its message once committed"
    failed.refresh_from_db()
    assert (failed.state, failed.error, failed.exit_code, failed.finished_at) == ("queued", "", None, None)
    assert failed.directory == "/data/jobs/1" and failed.step == 40, "it runs again where it ran"
    cancelled.refresh_from_db()
    assert cancelled.state == "queued" and not cancelled.cancel_requested
    for state in ("succeeded", "running", "queued"):
        other = job(state=state)
        with pytest.raises(UserError, match="only a failed or cancelled job can be resumed"):
            training_job_resume(job=other)
        other.refresh_from_db()
        assert other.state == state


def test_a_failed_job_whose_worker_still_beats_is_not_resumed(settings):
    """The reaper failed it, but its worker answered again afterwards: its
    recipe still writes in the job's directory."""
    settings.TRAINING_HEARTBEAT_TIMEOUT = 30
    now = timezone.now()
    reaped = job(state="failed", finished_at=now - timedelta(seconds=10), heartbeat_at=now - timedelta(seconds=1))
    with pytest.raises(UserError, match="worker still answers"):
        training_job_resume(job=reaped)
    assert TrainingJob.objects.get(pk=reaped.pk).state == "failed"
    reaped.heartbeat_at = now - timedelta(seconds=31)
    reaped.save()
    assert training_job_resume(job=reaped).state == "queued", "once that worker is silent too, it may"


def test_every_recipe_row_is_complete():
    """What the runner and form read of each row: its inputs are reserved
    config keys, its data has a writer, a snapshot recipe says which kinds."""
    for kind, spec in RECIPES.items():
        assert spec.kind == kind and spec.label
        assert set(spec.input_keys) <= RESERVED_KEYS and DATA_KEYS[spec.data] in spec.input_keys
        assert spec.data in _DATA_WRITERS
        assert bool(spec.snapshot_kinds) == (spec.data in ("export", "prompts")), kind
        assert bool(spec.export_format) == (spec.data == "export"), kind
        # A recipe without an output version is an evaluation, which has a baseline and judges.
        assert bool(spec.output_kind) != bool(spec.baseline_key and spec.judges_key), kind


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


def test_the_metrics_tail_of_a_resumed_job_starts_at_its_end_and_follows_a_rewritten_file(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\n{"step": 2}\n')
    tail = _MetricsTail(path, offset=path.stat().st_size)
    assert tail.read() == [], "the earlier run's points are stored already"
    with open(path, "a") as stream:
        stream.write('{"step": 2}\n')
    assert tail.read() == [{"step": 2}]
    path.write_text('{"step": 3}\n')
    assert tail.read() == [{"step": 3}], "a recipe that wrote the file anew is read from its start"


def test_eta_is_the_pace_so_far_times_the_steps_left():
    assert eta_seconds(TrainingJob(state="running", step=10, total_steps=40, elapsed_seconds=20.0)) == 60.0
    assert eta_seconds(TrainingJob(state="running", step=0, total_steps=40, elapsed_seconds=1.0)) is None
    assert eta_seconds(TrainingJob(state="succeeded", step=40, total_steps=40, elapsed_seconds=80.0)) is None


def test_the_recipe_command_line():
    assert recipe_command(module="training.sft", config_path="/j/1/config.json") == [
        sys.executable,
        "-m",
        "training.sft",
        "--config",
        "/j/1/config.json",
    ]
    assert recipe_command(module="training.pretrain", config_path="c.json", nproc=4)[:6] == [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=4",
        "-m",
    ]
    with pytest.raises(ValueError):
        recipe_command(module="training.sft; rm -rf /", config_path="c.json")


@pytest.mark.django_db(transaction=True)
def test_a_recipe_that_ignores_sigterm_is_killed_after_the_grace_period(fake_recipes, base_version, sft_snapshot):
    """The run in this process (no worker), so the grace period is this
    test's setting."""
    import time

    from jobs import runtime

    fake_recipes.TRAINING_CANCEL_GRACE_SECONDS = 1.0
    snapshot = sft_snapshot(["IGNORE_TERM"])
    stubborn = job(
        base_version=base_version, snapshot=snapshot, hyperparameters={"max_steps": 10_000, "step_seconds": 0.1}
    )

    run = database_thread(training_job_run, job_id=stubborn.pk)
    eventually(lambda: TrainingJob.objects.get(pk=stubborn.pk).step >= 2, what="two steps")
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
        "SECRET_KEY": "django-secret-4f1c",
        "DATABASE_URL": "postgres://chatsite:db-pass-9a2e@db/chatsite",
        "OPENAI_API_KEY": "sk-upstream-7b3d",
        "METRICS_TOKEN": "scrape-token-1e8f",
        "REDIS_URL": "redis://:redis-pass-5c6a@r/0",
    }
    for name, value in {
        **secrets,
        "HF_HOME": "/models/hf",
        "CUDA_VISIBLE_DEVICES": "0",
        "OMP_NUM_THREADS": "2",
    }.items():
        monkeypatch.setenv(name, value)
    leaky = job(base_version=base_version, snapshot=sft_snapshot(["PRINT_ENV"]), hyperparameters={"max_steps": 1})
    training_job_run(job_id=leaky.pk)
    leaky.refresh_from_db()
    assert leaky.state == "succeeded", (leaky.error, leaky.log_tail[-2000:])
    log = (Path(leaky.directory) / "log.txt").read_text()
    assert [name for name, value in secrets.items() if value in log] == []
    for kept in (
        "PATH=",
        "HOME=",
        "HF_HOME=/models/hf",
        "CUDA_VISIBLE_DEVICES=0",
        "OMP_NUM_THREADS=2",
        "PYTHONUNBUFFERED=1",
    ):
        assert f"env {kept}" in log
