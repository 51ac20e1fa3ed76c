"""Writes for retraining the classifier, on the web side: queueing a
training (the worker runs it, `retrain.classifier_training_run`) and
promoting a trained version to moderate."""

from django.db import transaction
from django.utils import timezone

from registry.models import ModelVersion
from registry.services import model_version_promote

from .models import ClassifierTraining


@transaction.atomic
def classifier_training_request(*, requested_by) -> tuple[ClassifierTraining, bool]:
    """Queues a retraining on the `moderation` queue, unless one is already
    queued or running: (that training, whether it is new). One that has
    been at it longer than ClassifierTraining.STALE_AFTER is marked failed."""
    now = timezone.now()
    ClassifierTraining.objects.filter(
        state__in=ClassifierTraining.ACTIVE_STATES, created_at__lt=now - ClassifierTraining.STALE_AFTER
    ).update(
        state=ClassifierTraining.State.FAILED,
        error=f"No worker finished it within {ClassifierTraining.STALE_AFTER}; it was given up.",
        finished_at=now,
    )
    active = ClassifierTraining.objects.select_for_update().filter(state__in=ClassifierTraining.ACTIVE_STATES).first()
    if active is not None:
        return active, False
    training = ClassifierTraining.objects.create(requested_by=requested_by)
    from .tasks import classifier_train_task

    transaction.on_commit(lambda: classifier_train_task.delay(training.pk))
    return training, True


def classifier_version_promote(*, version: ModelVersion) -> ModelVersion:
    """Makes `version` the classifier that moderates: the registry's serving
    classifier, swapped in one transaction (model_version_promote) so no
    reader sees two serving heads or none. Only a classifier version."""
    if version.kind != ModelVersion.Kind.CLASSIFIER:
        raise ValueError("Only a classifier version can be promoted here.")
    return model_version_promote(version=version)
