"""Celery interfaces: each takes an id and calls its service."""

from celery import shared_task


@shared_task(ignore_result=True)
def moderate_user_message_task(message_id: int) -> None:
    from .worker import user_message_moderate

    user_message_moderate(message_id=message_id)


@shared_task(ignore_result=True)
def generate_answer_task(message_id: int) -> None:
    from .worker import answer_generate

    answer_generate(message_id=message_id)


@shared_task(ignore_result=True)
def chat_import_task(import_id: int) -> None:
    from .imports_service import chat_import_run

    chat_import_run(import_id=import_id)
