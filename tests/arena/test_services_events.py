"""What arena services broadcast to the sockets watching a round's
conversation, once the transaction commits."""

import pytest

from arena import services
from chat.models import Conversation, Message, MessageStatus
from chat.serializers import message_to_dict

from ..helpers.recorders import Broadcast

pytestmark = pytest.mark.django_db


def announced(conversation_id: int, *messages) -> list[Broadcast]:
    return [
        Broadcast(f"conv.{conversation_id}", {"type": "chat.message", "message": message_to_dict(message)})
        for message in messages
    ]


def test_match_start_announces_the_question_and_both_queued_answers_on_commit(
    arena_user, versions, captured_tasks, captured_events
):
    conversation = Conversation.objects.create(owner=arena_user)
    with captured_events() as events:
        match = services.match_start(user=arena_user, conversation=conversation, content="Name a colour")
        assert events == [], "nothing is announced before the commit"
    question = Message.objects.get(pk=match.question_id)
    assert events == announced(conversation.pk, question, match.answer_a, match.answer_b)


def test_match_stop_announces_both_answers_stopped_on_commit(arena_user, versions, captured_tasks, captured_events):
    conversation = Conversation.objects.create(owner=arena_user)
    match = services.match_start(user=arena_user, conversation=conversation, content="Name a colour")
    with captured_events() as events:
        services.match_stop(match=match)
        assert events == []
    answers = list(Message.objects.filter(pk__in=[match.answer_a_id, match.answer_b_id]).order_by("pk"))
    assert [answer.status for answer in answers] == [MessageStatus.STOPPED] * 2
    assert sorted(events, key=lambda e: e.event["message"]["id"]) == announced(conversation.pk, *answers)
