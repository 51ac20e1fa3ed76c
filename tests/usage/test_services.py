"""Counting tokens per user and day, and the daily quota the rate limiter
enforces before each answer."""

import threading

import pytest
from django.db import connection

from chat.services import message_send
from core.errors import UserError
from usage.models import DailyUsage
from usage.services import usage_record

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("captured_tasks")]


def test_records_add_up_in_one_row_per_day(user):
    usage_record(user_id=user.pk, answers=1, prompt_tokens=10, completion_tokens=5)
    usage_record(user_id=user.pk, answers=1, prompt_tokens=7, completion_tokens=3)
    row = DailyUsage.objects.get()
    assert (row.answers, row.prompt_tokens, row.completion_tokens, row.tokens) == (2, 17, 8, 25)


@pytest.mark.django_db(transaction=True)
def test_concurrent_records_lose_no_count(user):
    """Workers finishing answers of one user at once, the first ones racing
    to create the day's row."""

    def record():
        try:
            for _ in range(10):
                usage_record(user_id=user.pk, answers=1, completion_tokens=2)
        finally:
            connection.close()

    threads = [threading.Thread(target=record) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    row = DailyUsage.objects.get()
    assert (row.answers, row.completion_tokens) == (40, 80)


def test_the_site_quota_refuses_the_next_answer(user, settings):
    settings.USAGE_DAILY_TOKEN_QUOTA = 100
    message_send(user=user, conversation=None, parent=None, content="first")
    usage_record(user_id=user.pk, answers=1, prompt_tokens=60, completion_tokens=40)
    with pytest.raises(UserError) as refused:
        message_send(user=user, conversation=None, parent=None, content="second")
    assert refused.value.code == "quota_exceeded"
    assert "100 tokens for today" in refused.value.message and "midnight UTC" in refused.value.message


def test_a_users_own_quota_overrides_the_site_default_and_zero_is_unlimited(make_user, settings):
    settings.USAGE_DAILY_TOKEN_QUOTA = 10
    generous = make_user(username="generous", daily_token_quota=0)
    tight = make_user(username="tight", daily_token_quota=5)
    admin = make_user(username="boss", role="admin", daily_token_quota=5)
    for person in (generous, tight, admin):
        usage_record(user_id=person.pk, completion_tokens=8)
    message_send(user=generous, conversation=None, parent=None, content="still fine")
    message_send(user=admin, conversation=None, parent=None, content="admins have no quota")
    with pytest.raises(UserError, match="5 tokens for today"):
        message_send(user=tight, conversation=None, parent=None, content="over")


def test_an_answer_whose_conversation_is_deleted_mid_stream_is_still_charged(user, tiny_model_dir, monkeypatch):
    """The usage was recorded after the answer was saved, so deleting the
    conversation while it streamed (its row gone) skipped it: a way past
    the daily quota."""
    from chat import worker
    from chat.models import Conversation, Message, MessageStatus
    from registry.models import ModelVersion

    version = ModelVersion.objects.create(name="tiny", kind="policy", source="trained", path=str(tiny_model_dir))
    conversation = Conversation.objects.create(owner=user)
    question = Message.objects.create(
        conversation=conversation, role="user", content="Hi", status=MessageStatus.ACCEPTED
    )
    answer = Message.objects.create(
        conversation=conversation,
        parent=question,
        role="assistant",
        status=MessageStatus.QUEUED,
        model_version=version,
        sampling={"max_new_tokens": 16},
    )
    real_backend = worker.version_backend

    class DeletedWhileStreaming:
        """The real backend; the user deletes the conversation (and it is
        purged) once the first words arrived."""

        def __init__(self, backend):
            self.backend, self.model_path = backend, backend.model_path

        def stream(self, messages, params, should_stop):
            stream = self.backend.stream(messages, params, should_stop)
            inner = stream.deltas

            def deltas():
                for index, delta in enumerate(inner):
                    if index == 0:
                        Conversation.objects.filter(pk=conversation.pk).delete()
                    yield delta

            stream.deltas = deltas()
            return stream

    monkeypatch.setattr(worker, "version_backend", lambda v=None: (DeletedWhileStreaming(real_backend(v)[0]), v))
    worker.answer_generate(message_id=answer.pk)
    assert not Message.objects.filter(pk=answer.pk).exists()
    row = DailyUsage.objects.get(user=user)
    assert (row.answers, row.completion_tokens) == (1, 16) and row.prompt_tokens > 0
