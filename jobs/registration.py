"""The end of a successful run (worker side): a finished job's output
directory registered as a model version, with its lineage. Called by the
runner only; it never serves chat until an admin promotes it."""

from pathlib import Path

from registry.models import ModelVersion
from registry.services import model_version_register

from .models import TrainingJob
from .recipes import RECIPES


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
            {
                "id": snapshot.pk,
                "name": snapshot.name,
                "version": snapshot.version,
                "content_hash": snapshot.content_hash,
                "item_count": snapshot.item_count,
            }
            if snapshot
            else None
        ),
        "corpus": {"path": job.corpus_path, "sha256": job.input_hash} if job.corpus_path else None,
        "config": job.config,
        "code_version": job.code_version,
        "metrics": summary.get("final", {}),
        "steps": summary.get("steps"),
        "wall_time_s": summary.get("wall_time_s"),
        "resumed_from_step": summary.get("resumed_from_step"),
    }


def training_job_register_output(*, job: TrainingJob, output_dir: Path, summary: dict) -> ModelVersion:
    """Registers a finished job's output directory as a new model version
    of its recipe's output kind (RecipeSpec.output_kind), with its lineage."""
    return model_version_register(
        name=_version_name(job),
        kind=RECIPES[job.kind].output_kind,
        path=str(output_dir),
        base=job.base_version,
        job=job,
        snapshot=job.snapshot,
        description=f"{job.get_kind_display()} job #{job.pk}"
        + (f" on {job.snapshot}" if job.snapshot else f" on {Path(job.corpus_path).name}" if job.corpus_path else ""),
        metadata={"lineage": _lineage(job, summary)},
    )
