"""Broadcasts to the pages watching a job. The worker's run sends progress,
log lines and metric points; services send state changes on commit."""

from django.db import transaction

from core import broadcast


def job_group(job_id: int) -> str:
    return f"job.{int(job_id)}"


def send_now(job_id: int, event: dict) -> None:
    broadcast.group_send(job_group(job_id), event)


def send_on_commit(job_id: int, event: dict) -> None:
    transaction.on_commit(lambda: send_now(job_id, event))


def progress_event(job) -> dict:
    from .serializers import job_to_dict

    return {"type": "job.progress", "job": job_to_dict(job)}
