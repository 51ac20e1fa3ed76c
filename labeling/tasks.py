"""Celery interfaces: each takes an id and calls its service."""

from celery import shared_task


@shared_task(ignore_result=True)
def candidates_generate_task(generation_id: int) -> None:
    from .generation import candidates_generate

    candidates_generate(generation_id=generation_id)


@shared_task(ignore_result=True)
def demonstration_moderate_task(demonstration_id: int) -> None:
    from .demonstration_moderation import demonstration_moderate

    demonstration_moderate(demonstration_id=demonstration_id)


@shared_task(ignore_result=True)
def reward_margins_score_task(task_ids: list[int]) -> None:
    from .routing import reward_margins_score

    reward_margins_score(task_ids=task_ids)
