"""Moderators' decisions retrain the classifier: an overturn, then an
admin's "Retrain now", run by a real Celery worker process on the
`moderation` queue, registers a new classifier version that does not serve
until it is promoted."""

from pathlib import Path

import pytest
from django.test import Client

from moderation import categories as c
from moderation.classifier.serving import serving_classifier_version
from moderation.models import ClassifierTraining, ReviewItem
from moderation.selectors import seed_examples
from registry.models import ModelVersion

from ..helpers.polling import eventually

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TRAINING_TIMEOUT = 240


def wait_for_training(training_id: int) -> ClassifierTraining:
    def finished():
        training = ClassifierTraining.objects.get(pk=training_id)
        return (
            training
            if training.state in (ClassifierTraining.State.SUCCEEDED, ClassifierTraining.State.FAILED)
            else None
        )

    return eventually(finished, timeout=TRAINING_TIMEOUT, interval=0.5, what=f"training {training_id} finishing")


def test_an_overturn_retrains_the_classifier_into_a_new_version(
    celery_worker, app_env, moderation_seed_file, make_user, flag
):
    moderator, admin = Client(), Client()
    moderator.force_login(make_user(username="mod", role="moderator"))
    admin.force_login(make_user(username="root", role="admin"))
    overturned = flag(c.VIOLENCE, text="I could murder a pizza right now")
    confirmed = flag(c.HATE, c.HARASSMENT, text="Zorbians are vermin and should all leave")
    assert (
        moderator.post(
            f"/moderation/review/{overturned.pk}/decide/", {"decision": "overturn", "note": "an idiom"}
        ).status_code
        == 302
    )
    assert moderator.post(f"/moderation/review/{confirmed.pk}/decide/", {"decision": "confirm"}).status_code == 302
    assert ReviewItem.objects.get(pk=overturned.pk).status == "overturned"

    assert moderator.post("/moderation/classifier/retrain/").status_code == 403
    response = admin.post("/moderation/classifier/retrain/")
    assert response.status_code == 302
    training = wait_for_training(ClassifierTraining.objects.get().pk)

    assert training.state == ClassifierTraining.State.SUCCEEDED, training.error
    seeded = len(seed_examples(path=moderation_seed_file))
    assert training.example_count == seeded + 2
    assert training.started_at <= training.finished_at and training.figures
    version = training.model_version
    assert (version.kind, version.source) == (ModelVersion.Kind.CLASSIFIER, ModelVersion.Source.TRAINED)
    heads = Path(app_env["DATA_DIR"]) / "moderation" / "heads" / version.name
    assert Path(version.path) == heads and heads.is_dir() and any(heads.iterdir())
    assert not version.is_serving and "serving" not in version.metadata
    assert version.metadata["figures"] == training.figures and version.metadata["examples"] == seeded + 2
    assert serving_classifier_version() is None, "a new version waits for promotion"

    page = admin.get("/moderation/classifier/").content.decode()
    assert version.name in page and 'data-state="succeeded"' in page
    assert admin.post(f"/moderation/classifier/versions/{version.pk}/promote/").status_code == 302
    assert serving_classifier_version() == version

    # A second retraining learns from the same data and registers beside it.
    admin.post("/moderation/classifier/retrain/")
    second = wait_for_training(ClassifierTraining.objects.exclude(pk=training.pk).get().pk)
    assert second.state == ClassifierTraining.State.SUCCEEDED, second.error
    assert second.model_version.base == version and not second.model_version.is_serving
    assert serving_classifier_version() == version
