"""Chat users report an answer into the review queue: the service and the
HTTP endpoint the chat page posts to."""

import json

import pytest

from chat.models import Conversation, Message, MessageStatus
from chat.services import message_report
from core.errors import UserError
from moderation.models import ReviewItem
from review.services import review_item_decide

pytestmark = pytest.mark.django_db


@pytest.fixture
def answer(user):
    conversation = Conversation.objects.create(owner=user, title="Mine")
    question = Message.objects.create(
        conversation=conversation, role="user", content="Insult me", status=MessageStatus.ACCEPTED
    )
    verdict = {
        "flagged": False,
        "score": 0.2,
        "categories": {"harassment": False},
        "category_scores": {"harassment": 0.2},
        "layer": None,
    }
    return Message.objects.create(
        conversation=conversation,
        parent=question,
        role="assistant",
        content="You are a fool.",
        status=MessageStatus.COMPLETE,
        moderation=verdict,
    )


def report_url(message) -> str:
    return f"/api/messages/{message.pk}/report/"


def post(client, message, body):
    return client.post(report_url(message), data=json.dumps(body), content_type="application/json")


def test_a_report_queues_the_answer_with_its_verdict(user, answer):
    item = message_report(user=user, message=answer, reason="  Rude to me\x00  ")
    item.refresh_from_db()
    assert (item.origin, item.direction, item.status) == ("report", "output", "open")
    assert item.reported_by == user and item.report_reason == "Rude to me"
    assert item.text == "You are a fool." and item.message == answer
    assert (
        item.verdict["category_scores"] == {"harassment": 0.2} and item.layer == "" and item.flagged_categories() == []
    )


def test_one_open_report_per_answer_and_user(user, answer, make_user):
    first = message_report(user=user, message=answer, reason="rude")
    with pytest.raises(UserError) as refused:
        message_report(user=user, message=answer, reason="still rude")
    assert refused.value.code == "already_reported"
    review_item_decide(item=first, reviewer=make_user(username="mod", role="moderator"), decision="overturn")
    second = message_report(user=user, message=answer, reason="I still think so")
    assert second.pk != first.pk
    assert ReviewItem.objects.filter(origin="report").count() == 2


def test_the_database_refuses_a_second_open_report_too(user, answer):
    from django.db import IntegrityError, transaction

    from moderation.flags import review_item_report

    review_item_report(message=answer, reported_by=user, reason="")
    with pytest.raises(IntegrityError), transaction.atomic():
        review_item_report(message=answer, reported_by=user, reason="")


def test_only_finished_answers_can_be_reported(user, answer):
    with pytest.raises(UserError, match="Only an answer"):
        message_report(user=user, message=answer.parent, reason="")
    answer.status = MessageStatus.STREAMING
    answer.save(update_fields=["status"])
    with pytest.raises(UserError, match="Wait for the answer"):
        message_report(user=user, message=answer, reason="")
    answer.status = MessageStatus.MODERATED
    answer.save(update_fields=["status"])
    with pytest.raises(UserError, match="already replaced"):
        message_report(user=user, message=answer, reason="")


def test_the_endpoint_reports_for_the_owner(client, user, answer):
    client.force_login(user)
    response = post(client, answer, {"reason": "Made up facts"})
    assert response.status_code == 201
    item = ReviewItem.objects.get()
    assert response.json() == {
        "report": {"id": item.pk, "status": "open", "outcome": "Reported · under review", "decided_at": None}
    }
    assert item.report_reason == "Made up facts"
    again = post(client, answer, {"reason": "again"})
    assert again.status_code == 400 and again.json()["code"] == "already_reported"


@pytest.mark.parametrize(
    "body,code",
    [({"reason": "x" * 1001}, "invalid_report"), ({"reason": 42}, "invalid_report"), ([], "invalid_request")],
)
def test_the_endpoint_refuses_bad_reasons(client, user, answer, body, code):
    client.force_login(user)
    response = post(client, answer, body)
    assert response.status_code == 400 and response.json()["code"] == code
    assert not ReviewItem.objects.exists()


def test_a_reason_may_be_long_or_absent(client, user, answer):
    client.force_login(user)
    assert post(client, answer, {"reason": "x" * 1000}).status_code == 201
    ReviewItem.objects.all().delete()
    assert post(client, answer, {}).status_code == 201


def test_only_the_owner_reports_and_only_by_post(client, make_user, answer):
    assert post(client, answer, {"reason": "x"}).status_code == 401
    client.force_login(make_user(username="mallory"))
    assert post(client, answer, {"reason": "x"}).status_code == 404
    client.force_login(answer.conversation.owner)
    assert client.get(report_url(answer)).status_code == 405
    assert post(client, answer.parent, {"reason": "x"}).status_code == 400
    assert not ReviewItem.objects.exists()


def test_the_report_needs_the_csrf_token(user, answer):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert post(client, answer, {"reason": "x"}).status_code == 403


def test_a_report_shows_in_the_queue(client, user, answer, make_user):
    message_report(user=user, message=answer, reason="Rude to me")
    client.force_login(make_user(username="mod", role="moderator"))
    page = client.get("/moderation/review/", {"origin": "report"}).content.decode()
    assert "You are a fool." in page and "reported by alice" in page and "Rude to me" in page
