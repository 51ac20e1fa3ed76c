"""What annotators write is judged by input moderation before it is training
data: a demonstration is stored pending, its task goes to the moderation
queue (real Redis; no worker reads it here, the tests run the worker's
service), a flagged one goes to the moderators and stays out of every
snapshot until one overturns it, and housekeeping sends a lost task again."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from core.broker import broker_messages
from core.errors import UserError
from core.redis_client import redis_client
from labeling import demonstration_moderation
from labeling.assignments import (
    candidate_add,
    demonstration_submit,
    ranking_submit,
    task_assign_next,
    task_create_demonstration,
    task_create_ranking,
)
from labeling.datasets import export_rows, snapshot_create, snapshot_rows
from labeling.demonstration_moderation import (
    demonstration_moderate,
    demonstration_moderation_task_id,
    demonstrations_redispatch_lost,
)
from labeling.models import Candidate, DatasetSnapshot, Demonstration
from moderation.models import ModerationRule, ReviewItem
from review.services import review_item_decide

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def rules(settings):
    settings.MODERATION_LAYERS = ["rules"]
    settings.MODERATION_RULES_REFRESH_SECONDS = 0
    ModerationRule.objects.create(category="violence", kind="words", pattern="brawl", score=0.95)


@pytest.fixture
def moderation_queue(monkeypatch):
    """A moderation queue of this test's own: the live stack's worker, when
    other tests started it, takes from the real one."""
    name = f"moderation-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(demonstration_moderation, "QUEUE", name)
    yield name
    redis_client().delete(name)


def written(annotators, make_prompt, content: str) -> Demonstration:
    task_create_demonstration(prompt=make_prompt(), required_annotations=1)
    return demonstration_submit(assignment=task_assign_next(annotator=annotators(1)[0]), content=content)


def sft_completions() -> list[str]:
    """The completions an SFT snapshot made now holds."""
    try:
        snapshot = snapshot_create(name=f"sft-{DatasetSnapshot.objects.count()}", kind="sft")
    except UserError as error:
        assert error.code == "empty"
        return []
    return [row["completion"] for row in snapshot_rows(snapshot=snapshot)]


def test_a_demonstration_waits_for_moderation_then_passes(
    annotators, make_prompt, moderation_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        demonstration = written(annotators, make_prompt, "Paris is the capital of France.")
    assert demonstration.moderation == Demonstration.Moderation.PENDING
    assert demonstration_moderation_task_id(demonstration.pk) in broker_messages(moderation_queue)[0]
    assert sft_completions() == [], "no snapshot takes it before moderation has judged it"

    assert demonstration_moderate(demonstration_id=demonstration.pk) == Demonstration.Moderation.PASSED
    assert sft_completions() == ["Paris is the capital of France."]
    assert demonstration_moderate(demonstration_id=demonstration.pk) is None, "a task delivered twice judges once"


def test_a_flagged_demonstration_goes_to_the_moderators_and_stays_out_until_overturned(
    annotators, make_prompt, make_user
):
    demonstration = written(annotators, make_prompt, "Start a brawl outside the station tonight.")
    assert demonstration_moderate(demonstration_id=demonstration.pk) == Demonstration.Moderation.FLAGGED
    demonstration.refresh_from_db()
    item = demonstration.review_item
    assert (item.origin, item.direction, item.status, item.layer) == ("automatic", "input", "open", "rules")
    assert item.text == demonstration.content and item.candidate.demonstration_id == demonstration.pk
    assert demonstration.author.username in item.report_reason
    assert demonstration_moderate(demonstration_id=demonstration.pk) is None
    assert ReviewItem.objects.count() == 1
    assert sft_completions() == []

    moderator = make_user(username="mod", role="moderator")
    review_item_decide(item=item, reviewer=moderator, decision="confirm")
    assert sft_completions() == []
    review_item_decide(item=item, reviewer=moderator, decision="overturn")
    assert sft_completions() == ["Start a brawl outside the station tonight."]


def test_the_pages_say_so(annotators, make_prompt, client, make_user, admin_client):
    demonstration = written(annotators, make_prompt, "Start a brawl tonight.")
    prompt_page = f"/labeling/admin/prompts/{demonstration.prompt_id}/"
    assert "Waiting for moderation" in admin_client.get(prompt_page).content.decode()
    demonstration_moderate(demonstration_id=demonstration.pk)
    demonstration.refresh_from_db()
    review_page = f"/moderation/review/{demonstration.review_item_id}/"
    assert f'href="{review_page}">Flagged by moderation: open' in admin_client.get(prompt_page).content.decode()
    client.force_login(make_user(username="mod", role="moderator"))
    html = client.get(review_page).content.decode()
    assert f"demonstration #{demonstration.pk}" in html and demonstration.prompt.messages[-1]["content"] in html


def test_a_held_back_answer_is_never_chosen(annotators, make_prompt):
    demonstration = written(annotators, make_prompt, "Start a brawl, that settles it.")
    demonstration_moderate(demonstration_id=demonstration.pk)
    held = demonstration.candidates.get()
    other = candidate_add(prompt=demonstration.prompt, text="Talk it over.", origin=Candidate.Origin.MODEL)
    task_create_ranking(prompt=demonstration.prompt, candidates=[held, other], required_annotations=1)
    # The next annotator ranks the flagged answer first.
    ranking_submit(
        assignment=task_assign_next(annotator=annotators(1)[0], kind="ranking"), groups=[[held.pk], [other.pk]]
    )
    rows = snapshot_rows(snapshot=snapshot_create(name="prefs", kind="preference"))
    flags = {c["id"]: c["flags"] for c in rows[0]["candidates"]}
    assert flags == {held.pk: ["held_by_moderation"], other.pk: []}
    pairs = list(export_rows(kind="preference", rows=rows, fmt="preference"))
    assert pairs == [], "its one pair would make it chosen"


def test_a_lost_task_is_sent_again(annotators, make_prompt, moderation_queue, settings):
    settings.CHAT_DISPATCH_GRACE_SECONDS = 30
    demonstration = written(annotators, make_prompt, "Paris.")  # its on-commit task never ran: never sent
    assert demonstrations_redispatch_lost() == [], "within the grace period"
    Demonstration.objects.filter(pk=demonstration.pk).update(created_at=timezone.now() - timedelta(minutes=1))
    assert demonstrations_redispatch_lost() == [demonstration.pk]
    assert demonstration_moderation_task_id(demonstration.pk) in broker_messages(moderation_queue)[0]
    assert demonstrations_redispatch_lost() == [], "its task waits in the queue: a backlog, not a loss"
    demonstration_moderate(demonstration_id=demonstration.pk)
    settings.CHAT_DISPATCH_GRACE_SECONDS = 0
    assert demonstrations_redispatch_lost() == [], "judged: nothing to send"
