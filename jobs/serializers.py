"""The JSON shapes the job page receives, on load and over the WebSocket."""

from .models import TrainingJob, TrainingMetric


def eta_seconds(job: TrainingJob) -> float | None:
    """Time left at the pace so far; None until a step has been timed."""
    if job.state != TrainingJob.State.RUNNING or not (job.step and job.total_steps and job.elapsed_seconds):
        return None
    return max(0.0, job.elapsed_seconds / job.step * (job.total_steps - job.step))


def job_to_dict(job: TrainingJob) -> dict:
    version = getattr(job, "output_version", None)
    return {
        "id": job.pk,
        "kind": job.kind,
        "state": job.state,
        "step": job.step,
        "total_steps": job.total_steps,
        "elapsed_seconds": job.elapsed_seconds,
        "eta_seconds": eta_seconds(job),
        "error": job.error,
        "cancel_requested": job.cancel_requested,
        "resumed_from_step": job.resumed_from_step,
        "compute_seconds": job.compute_seconds,
        "output_version": {"id": version.pk, "name": version.name} if version else None,
    }


def metric_point(metric: TrainingMetric) -> dict:
    return {"step": metric.step, "elapsed_s": metric.elapsed_seconds, **metric.values}
