"""Judged chat answers (KTO's data): the thumbs up and down of users who
share their chats, frozen as a "feedback" snapshot and exported in TRL's
unpaired format. Nothing of a user who does not share, nothing moderation
flagged or anyone disputes, nothing its owner deleted."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from chat import services as chat_services
from chat.models import Feedback, Message, MessageStatus
from core.errors import UserError
from labeling.datasets import export_rows, format_check, formats_for, snapshot_create, snapshot_export, snapshot_rows
from labeling.from_chat import judged_answer_items
from labeling.models import DatasetSnapshot
from moderation.models import ReviewItem
from registry.models import ModelVersion

from ..helpers.chat_feedback import rated_answer

pytestmark = pytest.mark.django_db

FEEDBACK = DatasetSnapshot.Kind.FEEDBACK


@pytest.fixture
def sharer(make_user):
    return make_user(username="sharer", shares_chat_data=True)


def unpaired(rows: list[dict]) -> list[dict]:
    return list(export_rows(kind=FEEDBACK, rows=rows, fmt="unpaired"))


def completions(rows: list[dict]) -> set[str]:
    return {row["completion"] for row in rows}


def test_thumbs_up_and_down_export_as_unpaired_rows_with_their_labels(sharer):
    rated_answer(sharer, "What is a tide?", "The moon pulls the sea.", up=True)
    first_q, first_a, _ = rated_answer(sharer, "Name a colour.", "Banana.", up=False, system="Be brief.")
    rated_answer(sharer, "And another?", "Blue.", up=True, conversation=first_q.conversation, parent=first_a)
    assert unpaired(judged_answer_items(filters={})) == [
        {
            "prompt": [{"role": "user", "content": "What is a tide?"}],
            "completion": [{"role": "assistant", "content": "The moon pulls the sea."}],
            "label": True,
        },
        {
            "prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour."}],
            "completion": [{"role": "assistant", "content": "Banana."}],
            "label": False,
        },
        {
            "prompt": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Name a colour."},
                {"role": "assistant", "content": "Banana."},
                {"role": "user", "content": "And another?"},
            ],
            "completion": [{"role": "assistant", "content": "Blue."}],
            "label": True,
        },
    ]


def test_a_rating_changed_keeps_one_row_with_the_last_label(sharer):
    _, answer, _ = rated_answer(sharer, "What is a tide?", "The moon pulls the sea.", up=True)
    chat_services.feedback_submit(user=sharer, message=answer, rating=-1, reasons=["Being lazy"], comment="")
    [row] = judged_answer_items(filters={})
    assert row["label"] is False and row["reasons"] == ["Being lazy"] and row["message_id"] == answer.pk


def test_a_user_who_does_not_share_never_appears(sharer, make_user):
    private = make_user(username="private")
    rated_answer(sharer, "Shared question?", "Shared answer.", up=True)
    rated_answer(sharer, "Shared question two?", "Shared answer two.", up=False)
    rated_answer(private, "Private question?", "Private answer.", up=True)
    rated_answer(private, "Private question two?", "Private answer two.", up=False)
    snapshot = snapshot_create(name="judged", kind=FEEDBACK)
    text = io.StringIO()
    snapshot_export(snapshot=snapshot, fmt="unpaired", output=text)
    assert snapshot.item_count == 2 and "Private" not in text.getvalue()
    assert "Private" not in json.dumps(snapshot_rows(snapshot=snapshot))
    # Turning sharing off takes the ratings out of the next version.
    sharer.shares_chat_data = False
    sharer.save(update_fields=["shares_chat_data"])
    with pytest.raises(UserError, match="No items"):
        snapshot_create(name="judged", kind=FEEDBACK)


def test_what_moderation_flagged_or_someone_disputes_is_left_out_whatever_its_rating(sharer):
    """An answer output moderation flagged or replaced, one reported or
    flagged by annotators and not overturned, and an answer below a flagged
    prompt never become examples; an overturned report does not count."""
    rated_answer(sharer, "Clean question?", "Clean answer.", up=True)
    _, flagged, _ = rated_answer(sharer, "Question A?", "Harmful answer A.", up=True)
    Message.objects.filter(pk=flagged.pk).update(moderation={"flagged": True, "categories": {"violence": True}})
    _, moderated, _ = rated_answer(sharer, "Question B?", "[template B]", up=False)
    Message.objects.filter(pk=moderated.pk).update(status=MessageStatus.MODERATED, moderation={"flagged": True})
    question, answer, _ = rated_answer(sharer, "Brawl question?", "First answer.", up=False)
    Message.objects.filter(pk=question.pk).update(status=MessageStatus.FLAGGED)
    rated_answer(
        sharer, "Follow-up?", "Below a flagged turn.", up=True, conversation=question.conversation, parent=answer
    )
    _, reported, _ = rated_answer(sharer, "Question C?", "Reported answer.", up=True)
    chat_services.message_report(user=sharer, message=reported, reason="wrong")
    _, cleared, _ = rated_answer(sharer, "Question D?", "Cleared answer.", up=True)
    item = chat_services.message_report(user=sharer, message=cleared, reason="wrong")
    ReviewItem.objects.filter(pk=item.pk).update(status=ReviewItem.Status.OVERTURNED)
    assert completions(judged_answer_items(filters={})) == {"Clean answer.", "Cleared answer."}


def test_a_deleted_conversation_and_answers_not_the_models_own_or_cut_off_are_left_out(sharer):
    kept, _, _ = rated_answer(sharer, "Kept?", "Kept answer.", up=True)
    deleted, _, _ = rated_answer(sharer, "Deleted?", "Deleted answer.", up=False)
    chat_services.conversation_delete(conversation=deleted.conversation)
    _, cut, _ = rated_answer(sharer, "Cut?", "An answer that ran to max_new", up=True)
    Message.objects.filter(pk=cut.pk).update(finish_reason="length")
    _, stopped, _ = rated_answer(sharer, "Stopped?", "Stopped by the user", up=True)
    Message.objects.filter(pk=stopped.pk).update(status=MessageStatus.STOPPED)
    _, client, _ = rated_answer(sharer, "Client?", "A client's own history turn.", up=True)
    Message.objects.filter(pk=client.pk).update(moderation={"source": "client", "flagged": False})
    assert completions(judged_answer_items(filters={})) == {"Kept answer."}


def test_a_feedback_snapshot_goes_through_the_service_with_its_filters(sharer):
    old_version = ModelVersion.objects.create(name="old-policy", source="imported", path="/nowhere/old")
    new_version = ModelVersion.objects.create(name="new-policy", source="imported", path="/nowhere/new")
    rated_answer(sharer, "Q1?", "Old good.", up=True, model_version=old_version)
    rated_answer(sharer, "Q2?", "New good.", up=True, model_version=new_version)
    _, _, earlier = rated_answer(sharer, "Q3?", "New bad, last week.", up=False, model_version=new_version)
    Feedback.objects.filter(pk=earlier.pk).update(created_at=timezone.now() - timedelta(days=7))
    today = timezone.now().date().isoformat()

    everything = snapshot_create(name="judged", kind=FEEDBACK)
    assert everything.kind == "feedback" and everything.item_count == 3 and everything.version == 1
    newest = snapshot_create(name="judged", kind=FEEDBACK, filters={"model_version": new_version.pk})
    assert completions(snapshot_rows(snapshot=newest)) == {"New good.", "New bad, last week."}
    assert newest.version == 2 and newest.filters == {"model_version": new_version.pk}
    recent = snapshot_create(name="recent", kind=FEEDBACK, filters={"created_from": today, "created_to": today})
    assert completions(snapshot_rows(snapshot=recent)) == {"Old good.", "New good."}
    [row] = [r for r in snapshot_rows(snapshot=newest) if r["label"]]
    assert row["model_version"] == "new-policy" and row["reasons"] == ["Accurate information"]
    assert "my own words" not in json.dumps(snapshot_rows(snapshot=everything)), "the comment stays in chat"

    for bad in ({"sources": ["chat"]}, {"import_id": 1}, {"min_agreement": 0.5}, {"model_version": "x"}):
        with pytest.raises(UserError, match="not valid"):
            snapshot_create(name="judged", kind=FEEDBACK, filters=bad)


def test_the_unpaired_format_is_for_judged_answers_and_rankings_alone():
    assert formats_for(kind=FEEDBACK) == ["unpaired"]
    assert "unpaired" in formats_for(kind="preference")
    for kind in ("sft", "labels", "conversations"):
        assert "unpaired" not in formats_for(kind=kind)
        with pytest.raises(ValueError):
            format_check(kind=kind, fmt="unpaired")
    for fmt in ("sft-messages", "preference", "oasst"):
        with pytest.raises(ValueError):
            format_check(kind=FEEDBACK, fmt=fmt)


def test_the_datasets_page_and_the_command_make_a_feedback_snapshot(sharer, make_user):
    rated_answer(sharer, "Q1?", "Good.", up=True)
    rated_answer(sharer, "Q2?", "Bad.", up=False)
    client = Client()
    client.force_login(make_user(username="boss", role="admin"))
    page = client.get("/labeling/admin/snapshots/")
    assert '<option value="feedback">Judged chat answers (KTO)</option>' in page.content.decode()
    refused = client.post(
        "/labeling/admin/snapshots/create/", {"name": "judged", "kind": "feedback", "sources": "chat"}
    )
    assert refused.status_code == 400 and not DatasetSnapshot.objects.exists()
    made = client.post("/labeling/admin/snapshots/create/", {"name": "judged", "kind": "feedback"})
    assert made.status_code == 302
    snapshot = DatasetSnapshot.objects.get()
    assert snapshot.kind == FEEDBACK and snapshot.item_count == 2
    listing = client.get("/labeling/admin/snapshots/").content.decode()
    assert 'data-testid="lab-download-unpaired"' in listing and 'data-testid="lab-download-oasst"' not in listing
    download = client.get(f"/labeling/admin/snapshots/{snapshot.pk}/unpaired.jsonl")
    lines = [json.loads(line) for line in b"".join(download.streaming_content).decode().splitlines()]
    assert [line["label"] for line in lines] == [True, False]

    out = io.StringIO()
    call_command(
        "create_snapshot", "judged", "--kind", "feedback", "--from", timezone.now().date().isoformat(), stdout=out
    )
    assert "judged@2: 2 items" in out.getvalue()
