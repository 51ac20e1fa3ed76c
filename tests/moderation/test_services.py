from datetime import timedelta

import pytest
from django.utils import timezone

from moderation import categories as c
from moderation.models import ClassifierTraining, ReviewDecision, ReviewItem
from moderation.pipeline import moderate
from moderation.selectors import classifier_training_active, serving_classifier_version
from moderation.services import (
    classifier_training_request,
    classifier_training_run,
    classifier_version_promote,
    review_item_create,
    review_item_decide,
    review_items_decide,
)
from registry.models import ModelVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(exchange):
    _, answer = exchange
    verdict = moderate("I will kill you", "assistant")
    return review_item_create(message=answer, direction="output", text="I will kill you", verdict=verdict)


def test_create_keeps_the_text_and_verdict(item, exchange):
    item.refresh_from_db()
    assert item.message == exchange[1] and item.direction == ReviewItem.Direction.OUTPUT
    assert item.text == "I will kill you"
    assert item.verdict["flagged"] is True and item.verdict["layer"] == "rules"
    assert item.layer == "rules" and item.top_category == c.HARASSMENT_THREATENING
    assert item.status == ReviewItem.Status.OPEN and item.reviewer is None and item.decided_at is None


def test_decide_sets_the_status_and_audits(item, make_user):
    moderator = make_user(username="mod", role="moderator")
    review_item_decide(item=item, reviewer=moderator, decision="overturn", note="a quote from a film")
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.OVERTURNED and item.reviewer == moderator
    assert item.note == "a quote from a film" and item.decided_at is not None
    (row,) = ReviewDecision.objects.filter(item=item)
    assert (row.reviewer, row.decision, row.note) == (moderator, "overturn", "a quote from a film")


def test_a_change_of_mind_is_audited_too(item, make_user):
    moderator = make_user(username="mod", role="moderator")
    review_item_decide(item=item, reviewer=moderator, decision="overturn")
    review_item_decide(item=item, reviewer=moderator, decision="confirm", note="on reflection")
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.CONFIRMED
    assert list(item.decisions.values_list("decision", flat=True)) == ["overturn", "confirm"]


def test_every_decision_audits_who_what_and_the_status_before_and_after(item, make_user):
    first, second = make_user(username="mod1", role="moderator"), make_user(username="mod2", role="moderator")
    review_item_decide(item=item, reviewer=first, decision="confirm", note="clear threat")
    review_item_decide(item=item, reviewer=second, decision="overturn", note="a film quote")
    audit = list(item.decisions.order_by("at", "id").values_list("reviewer__username", "decision", "status_before", "status_after", "note"))
    assert audit == [
        ("mod1", "confirm", "open", "confirmed", "clear threat"),
        ("mod2", "overturn", "confirmed", "overturned", "a film quote"),
    ]
    assert all(decision.at is not None for decision in item.decisions.all())


def test_a_stale_item_object_still_audits_the_stored_status(item, make_user):
    moderator = make_user(username="mod", role="moderator")
    stale = ReviewItem.objects.get(pk=item.pk)
    review_item_decide(item=item, reviewer=moderator, decision="confirm")
    review_item_decide(item=stale, reviewer=moderator, decision="overturn")
    last = item.decisions.order_by("-id").first()
    assert (last.status_before, last.status_after) == ("confirmed", "overturned")


def test_bulk_decide_audits_each_item(flag, make_user):
    moderator = make_user(username="mod", role="moderator")
    first, second, untouched = flag("hate", text="one"), flag("violence", text="two"), flag("sexual", text="three")
    review_item_decide(item=second, reviewer=moderator, decision="confirm")
    decided = review_items_decide(items=[first, second], reviewer=moderator, decision="overturn", note="satire")
    assert {item.pk for item in decided} == {first.pk, second.pk}
    statuses = dict(ReviewItem.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "overturned", second.pk: "overturned", untouched.pk: "open"}
    audit = ReviewDecision.objects.filter(decision="overturn").order_by("item_id")
    assert [(d.item_id, d.status_before, d.status_after, d.note) for d in audit] == [
        (first.pk, "open", "overturned", "satire"),
        (second.pk, "confirmed", "overturned", "satire"),
    ]
    first.refresh_from_db()
    assert first.reviewer == moderator and first.note == "satire" and first.decided_at is not None


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


def test_promotion_leaves_exactly_one_classifier_serving():
    old = ModelVersion.objects.create(
        name="heads-old", kind="classifier", source="trained", path="/h/old", metadata={"serving": True, "examples": 5}
    )
    new = ModelVersion.objects.create(name="heads-new", kind="classifier", source="trained", path="/h/new", metadata={"figures": {"f1": 0.8}})
    policy = ModelVersion.objects.create(name="chat", kind="policy", source="trained", path="/p", metadata={"serving": True})
    classifier_version_promote(version=new)
    serving = {v.name: v.metadata.get("serving") for v in ModelVersion.objects.all()}
    assert serving == {"heads-old": False, "heads-new": True, "chat": True}
    old.refresh_from_db()
    assert old.metadata == {"serving": False, "examples": 5}, "other metadata stays"
    new.refresh_from_db()
    assert new.metadata == {"figures": {"f1": 0.8}, "serving": True}
    assert serving_classifier_version() == new
    with pytest.raises(ValueError):
        classifier_version_promote(version=policy)
