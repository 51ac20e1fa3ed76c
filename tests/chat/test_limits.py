"""The per-user limits of chat/services.py (issue 15, item 8): parallel
sends are counted one after another, the per-minute count lives where its
user cannot delete it, and a refused send takes nothing."""

import threading

import pytest
from django.db import connection

from chat import services
from chat.models import Conversation, Message, MessageStatus
from core.errors import UserError
from usage.models import AnswerStart


def send_at_once(user, count: int) -> list[str]:
    """`count` threads send one message each, released together; returns
    each one's outcome ("sent" or the refusal's code)."""
    start = threading.Barrier(count)
    outcomes = []

    def send(index):
        try:
            start.wait()
            services.message_send(user=user, conversation=None, parent=None, content=f"message {index}")
            outcomes.append("sent")
        except UserError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_parallel_sends_pass_the_concurrency_limit_exactly_as_often_as_it_allows(user, captured_tasks, settings):
    """Each send counted the answers being written before any had stored
    its own, so all of them passed a limit of 2 (PostgreSQL, READ COMMITTED)."""
    assert connection.vendor == "postgresql"
    settings.CHAT_MAX_CONCURRENT_GENERATIONS = 2
    settings.CHAT_RATE_LIMIT_PER_MINUTE = 100
    outcomes = send_at_once(user, 12)
    assert sorted(outcomes) == ["sent"] * 2 + ["too_many_generations"] * 10
    assert Message.objects.filter(role="assistant", status=MessageStatus.QUEUED).count() == 2
    assert Conversation.objects.count() == 2, "a refused send stores nothing"


@pytest.mark.django_db(transaction=True)
def test_parallel_sends_pass_the_per_minute_limit_exactly_as_often_as_it_allows(user, captured_tasks, settings):
    settings.CHAT_MAX_CONCURRENT_GENERATIONS = 100
    settings.CHAT_RATE_LIMIT_PER_MINUTE = 3
    outcomes = send_at_once(user, 12)
    assert sorted(outcomes) == ["rate_limited"] * 9 + ["sent"] * 3
    assert AnswerStart.objects.filter(user=user).count() == 3


@pytest.mark.django_db
def test_deleting_conversations_does_not_reset_the_per_minute_count(user, captured_tasks, settings):
    """The count was of the user's messages: deleting the conversations (or
    /v1's store: false, which does it after every answer) gave the minute back."""
    settings.CHAT_RATE_LIMIT_PER_MINUTE = 2
    settings.CHAT_MAX_CONCURRENT_GENERATIONS = 100
    sent = [services.message_send(user=user, conversation=None, parent=None, content=f"q{i}")[0] for i in range(2)]
    for conversation in sent:
        services.conversation_delete(conversation=conversation)
    Conversation.objects.filter(pk__in=[c.pk for c in sent]).delete()  # purged, too
    assert not Message.objects.exists()
    with pytest.raises(UserError) as refused:
        services.message_send(user=user, conversation=None, parent=None, content="one more")
    assert refused.value.code == "rate_limited"


@pytest.mark.django_db
def test_a_refused_send_takes_no_count(user, captured_tasks, settings):
    settings.CHAT_RATE_LIMIT_PER_MINUTE = 2
    settings.CHAT_MAX_CONCURRENT_GENERATIONS = 1
    _, _, first = services.message_send(user=user, conversation=None, parent=None, content="one")
    with pytest.raises(UserError, match="still being written"):
        services.message_send(user=user, conversation=None, parent=None, content="two")
    Message.objects.filter(pk=first.pk).update(status=MessageStatus.COMPLETE)
    services.message_send(user=user, conversation=None, parent=None, content="three")  # the second took no count
    assert AnswerStart.objects.filter(user=user).count() == 2


@pytest.mark.django_db
def test_regenerating_counts_like_sending(user, captured_tasks, settings):
    settings.CHAT_RATE_LIMIT_PER_MINUTE = 2
    settings.CHAT_MAX_CONCURRENT_GENERATIONS = 100
    _, question, answer = services.message_send(user=user, conversation=None, parent=None, content="one")
    Message.objects.filter(pk=question.pk).update(status=MessageStatus.ACCEPTED)
    services.answer_regenerate(user=user, message=answer)
    with pytest.raises(UserError) as refused:
        services.answer_regenerate(user=user, message=answer)
    assert refused.value.code == "rate_limited"


@pytest.mark.django_db
def test_the_count_forgets_what_is_older_than_a_minute(user, captured_tasks, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.CHAT_RATE_LIMIT_PER_MINUTE = 1
    AnswerStart.objects.create(user=user, at=timezone.now() - timedelta(seconds=61))
    services.message_send(user=user, conversation=None, parent=None, content="fine")
    assert list(AnswerStart.objects.values_list("answers", flat=True)) == [1], "the old row was pruned"
