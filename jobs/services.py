"""Writes of the jobs app: creating, cancelling, resuming and reaping jobs,
and storing an uploaded corpus. The run itself (worker side) is in
runner.py, and registering its output in registration.py."""

import hashlib
import logging
import re
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import UserError
from registry.models import ModelVersion

from . import events, recipes, runtime
from .models import TrainingJob

logger = logging.getLogger(__name__)

CORPORA_DIR = "corpora"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def corpus_store(*, name: str, chunks) -> str:
    """Saves an uploaded text corpus under DATA_DIR/corpora/ and returns its
    path relative to DATA_DIR. The file's hash is in its name, so two
    uploads never overwrite each other and the same text is kept once."""
    digest = hashlib.sha256()
    directory = settings.DATA_DIR / CORPORA_DIR
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / f".upload-{timezone.now():%Y%m%d%H%M%S%f}.partial"
    with open(partial, "wb") as out:
        for chunk in chunks:
            digest.update(chunk)
            out.write(chunk)
    stem = _SAFE_NAME.sub("-", Path(name).stem).strip("-.")[:60] or "corpus"
    relative = f"{CORPORA_DIR}/{stem}-{digest.hexdigest()[:12]}.txt"
    partial.replace(settings.DATA_DIR / relative)
    return relative


@transaction.atomic
def training_job_create(
    *,
    created_by,
    kind: str,
    preset: str,
    hyperparameters: dict,
    base_version: ModelVersion | None = None,
    reward_version: ModelVersion | None = None,
    snapshot=None,
    corpus_path: str = "",
    baseline_version: ModelVersion | None = None,
    judge_versions=(),
    evaluation_set=None,
    red_team_set=None,
) -> TrainingJob:
    """Stores a queued job and, once committed, sends it to the training
    queue (when the broker is unreachable the job stays queued and
    housekeeping sends it later: see dispatch). The inputs are valid (the
    form checked them); the recipe module is fixed now, from the settings."""
    from .dispatch import training_job_dispatch

    with transaction.atomic():
        job = TrainingJob.objects.create(
            kind=kind,
            preset=preset,
            hyperparameters=hyperparameters,
            base_version=base_version,
            reward_version=reward_version,
            snapshot=snapshot,
            corpus_path=corpus_path,
            baseline_version=baseline_version,
            evaluation_set=evaluation_set,
            red_team_set=red_team_set,
            recipe=recipes.recipe_module(kind),
            created_by=created_by,
        )
        job.judge_versions.set(judge_versions)
    transaction.on_commit(lambda: training_job_dispatch(job.pk))
    return job


def training_job_cancel(*, job: TrainingJob) -> TrainingJob:
    """A queued job is cancelled at once (the worker will skip it); a running
    one is flagged, and its worker stops the recipe (SIGTERM, then SIGKILL
    after TRAINING_CANCEL_GRACE_SECONDS) and ends it `cancelled`."""
    now = timezone.now()
    cancelled_while_queued = TrainingJob.objects.filter(pk=job.pk, state=TrainingJob.State.QUEUED).update(
        state=TrainingJob.State.CANCELLED, cancel_requested=True, finished_at=now
    )
    if not cancelled_while_queued and TrainingJob.objects.filter(pk=job.pk, state=TrainingJob.State.RUNNING).update(
        cancel_requested=True
    ):
        runtime.request_cancel(job.pk)
    job.refresh_from_db()
    events.send_now(job.pk, events.progress_event(job))
    return job


def training_job_resume(*, job: TrainingJob) -> TrainingJob:
    """Queues a failed or cancelled job again. Its worker runs the recipe
    in the job's directory with the same config, so the recipe finds its
    checkpoint in output/ and goes on from there (or starts afresh where
    there is none). A succeeded job is done; an active one is refused too,
    and so is a failed one whose worker still beats its heart after the
    job ended (the reaper judged it dead, but its recipe still writes
    there). Raises UserError with the reason."""
    from .dispatch import training_job_dispatch

    with transaction.atomic():
        locked = TrainingJob.objects.select_for_update().get(pk=job.pk)
        if not locked.is_resumable:
            raise UserError(
                "not_resumable",
                f"Job #{job.pk} is {locked.get_state_display().lower()}; only a failed "
                "or cancelled job can be resumed.",
            )
        if (
            locked.heartbeat_at
            and locked.finished_at
            and locked.heartbeat_at > locked.finished_at
            and (timezone.now() - locked.heartbeat_at < timedelta(seconds=settings.TRAINING_HEARTBEAT_TIMEOUT))
        ):
            raise UserError("worker_alive", f"Job #{job.pk}'s worker still answers; wait until it stops to resume it.")
        locked.state = TrainingJob.State.QUEUED
        locked.cancel_requested = False
        locked.error = ""
        locked.exit_code = None
        locked.finished_at = None
        locked.save(update_fields=["state", "cancel_requested", "error", "exit_code", "finished_at"])
        logger.info("Training job %s resumed", job.pk)
        events.send_on_commit(job.pk, events.progress_event(locked))
        transaction.on_commit(lambda: training_job_dispatch(job.pk))
    job.refresh_from_db()
    return job


def training_jobs_reap_stale() -> list[int]:
    """Fails running jobs whose worker stopped beating its heart (killed, out
    of memory, machine gone) for TRAINING_HEARTBEAT_TIMEOUT seconds. Called
    when job pages load, so nothing needs a scheduler; the recipe died with
    its worker (see runner: it is killed when its parent goes)."""
    cutoff = timezone.now() - timedelta(seconds=settings.TRAINING_HEARTBEAT_TIMEOUT)
    stale = list(
        TrainingJob.objects.filter(state=TrainingJob.State.RUNNING, heartbeat_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    )
    reaped = []
    for pk in stale:
        updated = TrainingJob.objects.filter(pk=pk, state=TrainingJob.State.RUNNING, heartbeat_at__lt=cutoff).update(
            state=TrainingJob.State.FAILED,
            error="The training worker stopped answering "
            f"(no heartbeat for {settings.TRAINING_HEARTBEAT_TIMEOUT:g} s): "
            "it was killed or ran out of memory.",
            finished_at=timezone.now(),
        )
        if updated:
            reaped.append(pk)
            logger.warning("Training job %s failed: its worker stopped answering", pk)
            events.send_now(pk, events.progress_event(TrainingJob.objects.get(pk=pk)))
    return reaped
