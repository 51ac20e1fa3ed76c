from datetime import timedelta

import pytest
from django.utils import timezone

from moderation.classifier.serving import serving_classifier_version
from moderation.models import ClassifierTraining
from moderation.retrain import classifier_training_run
from moderation.selectors import classifier_training_active
from moderation.services import classifier_training_request, classifier_version_promote
from registry.models import ModelVersion

pytestmark = pytest.mark.django_db


def test_retraining_is_queued_once_on_commit(make_user, django_capture_on_commit_callbacks):
    admin = make_user(username="root", role="admin")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        training, created = classifier_training_request(requested_by=admin)
        again, created_again = classifier_training_request(requested_by=admin)
    assert created and not created_again and again == training
    assert training.state == ClassifierTraining.State.QUEUED and training.requested_by == admin
    assert len(callbacks) == 1


def test_a_training_whose_worker_died_does_not_block_the_next(make_user, django_capture_on_commit_callbacks):
    admin = make_user(username="root", role="admin")
    lost = ClassifierTraining.objects.create(state=ClassifierTraining.State.RUNNING)
    ClassifierTraining.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(hours=3))
    assert classifier_training_active() is None, "the page offers to retrain"
    with django_capture_on_commit_callbacks(execute=False):
        training, created = classifier_training_request(requested_by=admin)
    assert created and training.pk != lost.pk and classifier_training_active() == training
    lost.refresh_from_db()
    assert lost.state == ClassifierTraining.State.FAILED and "given up" in lost.error and lost.finished_at


def test_a_training_without_labelled_data_fails_and_says_why(settings, tmp_path):
    settings.MODERATION_SEED_DATA = tmp_path / "missing.jsonl"
    settings.DATA_DIR = tmp_path
    training = ClassifierTraining.objects.create()
    classifier_training_run(training_id=training.pk)
    training.refresh_from_db()
    assert training.state == ClassifierTraining.State.FAILED and "no labelled data" in training.error
    assert training.started_at and training.finished_at and training.example_count == 0
    assert training.model_version is None and not ModelVersion.objects.exists()


def test_a_training_that_is_not_queued_is_left_alone(settings, tmp_path):
    settings.MODERATION_SEED_DATA = tmp_path / "missing.jsonl"
    training = ClassifierTraining.objects.create(state=ClassifierTraining.State.SUCCEEDED)
    classifier_training_run(training_id=training.pk)
    classifier_training_run(training_id=training.pk + 1000)  # deleted meanwhile
    training.refresh_from_db()
    assert training.state == ClassifierTraining.State.SUCCEEDED and training.started_at is None


def test_promotion_leaves_exactly_one_classifier_serving_beside_the_chat_model():
    old = ModelVersion.objects.create(
        name="heads-old", kind="classifier", source="trained", path="/h/old", is_serving=True, metadata={"examples": 5}
    )
    new = ModelVersion.objects.create(
        name="heads-new", kind="classifier", source="trained", path="/h/new", metadata={"figures": {"f1": 0.8}}
    )
    policy = ModelVersion.objects.create(name="chat", kind="policy", source="trained", path="/p", is_serving=True)
    classifier_version_promote(version=new)
    serving = dict(ModelVersion.objects.values_list("name", "is_serving"))
    assert serving == {"heads-old": False, "heads-new": True, "chat": True}
    old.refresh_from_db()
    assert old.metadata == {"examples": 5}, "metadata stays as it was"
    assert serving_classifier_version() == new
    with pytest.raises(ValueError):
        classifier_version_promote(version=policy)
