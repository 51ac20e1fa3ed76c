"""Celery interfaces: each takes an id and calls its service."""

from celery import shared_task


@shared_task(ignore_result=True)
def classifier_train_task(training_id: int) -> None:
    from .retrain import classifier_training_run

    classifier_training_run(training_id=training_id)
