"""What chat services broadcast to the sockets watching a conversation, and
that they broadcast only once the transaction commits (no page hears of a
row it cannot read yet)."""

import pytest

from chat import runtime, services
from chat.models import MessageStatus
from chat.serializers import message_to_dict
from core.errors import UserError

from ..helpers.recorders import Broadcast

pytestmark = pytest.mark.django_db


def announced(conversation_id: int, *messages) -> list[Broadcast]:
    return [
        Broadcast(f"conv.{conversation_id}", {"type": "chat.message", "message": message_to_dict(message)})
        for message in messages
    ]


def test_message_send_announces_the_question_and_its_queued_answer_on_commit(user, captured_tasks, captured_events):
    with captured_events() as events:
        conversation, question, answer = services.message_send(
            user=user, conversation=None, parent=None, content="Hello there"
        )
        assert events == [], "nothing is announced before the commit"
    assert (question.status, answer.status) == (MessageStatus.PENDING, MessageStatus.QUEUED)
    assert events == announced(conversation.pk, question, answer)
    assert captured_tasks == [("moderate", question.pk)]


def test_a_refused_message_announces_nothing(user, captured_tasks, captured_events, settings):
    settings.CHAT_RATE_LIMIT_PER_MINUTE = 0
    with captured_events() as events, pytest.raises(UserError):
        services.message_send(user=user, conversation=None, parent=None, content="Hello there")
    assert events == [] and captured_tasks == []


def test_generation_stop_announces_a_queued_answer_stopped_on_commit(user, captured_tasks, captured_events):
    conversation, _, answer = services.message_send(user=user, conversation=None, parent=None, content="Hello")
    with captured_events() as events:
        services.generation_stop(message=answer)
        assert events == [], "nothing is announced before the commit"
    answer.refresh_from_db()
    assert answer.status == MessageStatus.STOPPED
    assert events == announced(conversation.pk, answer)
    assert not runtime.is_cancel_requested(answer.pk), "no worker will read the flag"


def test_generation_stop_leaves_a_streaming_answer_to_its_worker(user, captured_tasks, captured_events):
    """The worker announces the stopped answer when it reads the flag, with
    the text it had written."""
    _, _, answer = services.message_send(user=user, conversation=None, parent=None, content="Hello")
    answer.status = MessageStatus.STREAMING
    answer.save(update_fields=["status"])
    try:
        with captured_events() as events:
            services.generation_stop(message=answer)
        assert events == []
        assert runtime.is_cancel_requested(answer.pk)
    finally:
        runtime.clear_cancel(answer.pk)


def test_answer_regenerate_announces_the_new_answer_on_commit(user, captured_tasks, captured_events):
    conversation, question, answer = services.message_send(user=user, conversation=None, parent=None, content="Hi")
    question.status = MessageStatus.ACCEPTED
    question.save(update_fields=["status"])
    with captured_events() as events:
        again = services.answer_regenerate(user=user, message=answer)
        assert events == []
    assert again.parent_id == question.pk and again.status == MessageStatus.QUEUED
    assert events == announced(conversation.pk, again)
    assert captured_tasks[-1] == ("generate", again.pk)
