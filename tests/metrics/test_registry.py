"""What records the series: an answer's figures and moderation's flags."""

import pytest
from channels.db import database_sync_to_async
from django.db import transaction

from chat.models import Conversation, Message, MessageStatus
from core.telemetry.instruments import generation_record
from moderation.flags import review_item_create

from ..helpers.sockets import connect, final_message, receive_until, send_message
from ..moderation.factories import make_verdict
from .helpers import value


@pytest.mark.django_db
def test_answers_figures_are_recorded(metrics_prefix):
    generation_record(completion_tokens=40, ttft_seconds=0.3, tokens_per_second=25.0)
    generation_record(completion_tokens=1, ttft_seconds=1.5, tokens_per_second=None)
    generation_record(completion_tokens=0, ttft_seconds=None, tokens_per_second=None)
    assert value("chatsite_generation_tokens_total") == 41
    assert value("chatsite_generation_time_to_first_token_seconds_count") == 2
    assert value("chatsite_generation_time_to_first_token_seconds_sum") == pytest.approx(1.8)
    assert value("chatsite_generation_time_to_first_token_seconds_bucket", le="0.25") == 0
    assert value("chatsite_generation_time_to_first_token_seconds_bucket", le="0.5") == 1
    assert value("chatsite_generation_time_to_first_token_seconds_bucket", le="2.0") == 2
    assert value("chatsite_generation_time_to_first_token_seconds_bucket", le="+Inf") == 2
    assert value("chatsite_generation_tokens_per_second_count") == 1
    assert value("chatsite_generation_tokens_per_second_bucket", le="50.0") == 1


def _flag(user, verdict, direction):
    conversation = Conversation.objects.create(owner=user)
    message = Message.objects.create(conversation=conversation, role="assistant", status=MessageStatus.MODERATED)
    review_item_create(message=message, direction=direction, text="flagged text", verdict=verdict)


@pytest.mark.django_db
def test_flags_are_counted_per_category_and_stage(user, metrics_prefix, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _flag(user, make_verdict("violence", "harassment"), "input")
        _flag(user, make_verdict("violence"), "input")
        _flag(user, make_verdict("hate"), "output")
    assert value("chatsite_moderation_flags_total", category="violence", stage="input") == 2
    assert value("chatsite_moderation_flags_total", category="harassment", stage="input") == 1
    assert value("chatsite_moderation_flags_total", category="hate", stage="output") == 1
    assert value("chatsite_moderation_flags_total", category="hate", stage="input") == 0


@pytest.mark.django_db
def test_a_flag_rolled_back_is_not_counted(user, metrics_prefix, django_capture_on_commit_callbacks):
    """The worker runs input moderation again when SQLite refused its
    transaction (core.db.retry_if_locked): only the committed try counts."""
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            _flag(user, make_verdict("violence"), "input")
            raise RuntimeError("rolled back")
    assert value("chatsite_moderation_flags_total", category="violence", stage="input") == 0


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
async def test_an_answer_from_the_worker_is_timed(celery_worker, user):
    """The worker process records under the default prefix, as this test reads."""
    ttft_count = database_sync_to_async(value)
    before = await ttft_count("chatsite_generation_time_to_first_token_seconds_count")
    communicator, _, _ = await connect(user)
    try:
        sent = await send_message(communicator, "Hello", settings={"max_new_tokens": 8})
        frames = await receive_until(communicator, final_message(sent["answer"]["id"]))
        assert frames[-1]["message"]["status"] == "complete"
    finally:
        await communicator.disconnect()
    assert await ttft_count("chatsite_generation_time_to_first_token_seconds_count") == before + 1
