"""Celery interfaces: each takes an id and calls its service."""

from celery import shared_task


# acks_late: the message is acknowledged when the job ends, so a busy worker
# reserves no second job behind it (see dispatch).
@shared_task(ignore_result=True, acks_late=True)
def training_job_run_task(job_id: int) -> None:
    from .runner import training_job_run

    training_job_run(job_id=job_id)
