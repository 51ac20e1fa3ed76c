"""Celery interfaces: each takes an id and calls its service."""

from celery import shared_task


@shared_task(ignore_result=True)
def arena_version_check_task(version_id: int) -> None:
    from .eligibility import arena_version_check

    arena_version_check(version_id=version_id)
