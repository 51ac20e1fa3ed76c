"""Celery interfaces: each takes an id and calls its service."""
from celery import shared_task


@shared_task(ignore_result=True)
def training_job_run_task(job_id: int) -> None:
    from .runner import training_job_run

    training_job_run(job_id=job_id)
