"""Writes of the jobs app: creating, cancelling and reaping jobs, storing an
uploaded corpus, and registering a finished job's output with its lineage.
The run itself (worker side) is in runner.py."""
import hashlib
import logging
import re
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from registry.models import ModelVersion
from registry.services import model_version_register

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
) -> TrainingJob:
    """Stores a queued job and, once committed, sends it to the training
    queue (when the broker is unreachable the job stays queued and
    housekeeping sends it later: see dispatch). The inputs are valid (the
    form checked them); the recipe module is fixed now, from the settings."""
    from .dispatch import training_job_dispatch

    job = TrainingJob.objects.create(
        kind=kind,
        preset=preset,
        hyperparameters=hyperparameters,
        base_version=base_version,
        reward_version=reward_version,
        snapshot=snapshot,
        corpus_path=corpus_path,
        recipe=recipes.recipe_module(kind),
        created_by=created_by,
    )
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
    if not cancelled_while_queued and TrainingJob.objects.filter(
        pk=job.pk, state=TrainingJob.State.RUNNING
    ).update(cancel_requested=True):
        runtime.request_cancel(job.pk)
    job.refresh_from_db()
    events.send_now(job.pk, events.progress_event(job))
    return job


def training_jobs_reap_stale() -> list[int]:
    """Fails running jobs whose worker stopped beating its heart (killed, out
    of memory, machine gone) for TRAINING_HEARTBEAT_TIMEOUT seconds. Called
    when job pages load, so nothing needs a scheduler; the recipe died with
    its worker (see runner: it is killed when its parent goes)."""
    cutoff = timezone.now() - timedelta(seconds=settings.TRAINING_HEARTBEAT_TIMEOUT)
    stale = list(
        TrainingJob.objects.filter(state=TrainingJob.State.RUNNING, heartbeat_at__lt=cutoff).values_list("pk", flat=True)
    )
    reaped = []
    for pk in stale:
        updated = TrainingJob.objects.filter(pk=pk, state=TrainingJob.State.RUNNING, heartbeat_at__lt=cutoff).update(
            state=TrainingJob.State.FAILED,
            error=f"The training worker stopped answering (no heartbeat for {settings.TRAINING_HEARTBEAT_TIMEOUT:g} s): "
            "it was killed or ran out of memory.",
            finished_at=timezone.now(),
        )
        if updated:
            reaped.append(pk)
            logger.warning("Training job %s failed: its worker stopped answering", pk)
            events.send_now(pk, events.progress_event(TrainingJob.objects.get(pk=pk)))
    return reaped


def _version_name(job: TrainingJob) -> str:
    stem = job.base_version.name if job.base_version else "scratch"
    return f"{stem[:70]}-{job.kind}-j{job.pk}"


def _lineage(job: TrainingJob, summary: dict) -> dict:
    snapshot = job.snapshot
    return {
        "job": job.pk,
        "kind": job.kind,
        "recipe": job.recipe,
        "preset": job.preset,
        "base_version": {"id": job.base_version.pk, "name": job.base_version.name} if job.base_version else None,
        "reward_version": (
            {"id": job.reward_version.pk, "name": job.reward_version.name} if job.reward_version else None
        ),
        "snapshot": (
            {"id": snapshot.pk, "name": snapshot.name, "version": snapshot.version,
             "content_hash": snapshot.content_hash, "item_count": snapshot.item_count}
            if snapshot else None
        ),
        "corpus": {"path": job.corpus_path, "sha256": job.input_hash} if job.corpus_path else None,
        "config": job.config,
        "code_version": job.code_version,
        "metrics": summary.get("final", {}),
        "steps": summary.get("steps"),
        "wall_time_s": summary.get("wall_time_s"),
    }


def training_job_register_output(*, job: TrainingJob, output_dir: Path, summary: dict) -> ModelVersion:
    """Registers a finished job's output directory as a new model version
    (reward kind for reward jobs, policy otherwise) with its lineage. It
    never serves chat until an admin promotes it."""
    kind = ModelVersion.Kind.REWARD if job.kind == TrainingJob.Kind.REWARD else ModelVersion.Kind.POLICY
    return model_version_register(
        name=_version_name(job),
        kind=kind,
        path=str(output_dir),
        base=job.base_version,
        job=job,
        snapshot=job.snapshot,
        description=f"{job.get_kind_display()} job #{job.pk}"
        + (f" on {job.snapshot}" if job.snapshot else f" on {Path(job.corpus_path).name}" if job.corpus_path else ""),
        metadata={"lineage": _lineage(job, summary)},
    )

