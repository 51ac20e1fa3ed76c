"""An answer written by a real worker is counted for its user."""

import pytest
from channels.db import database_sync_to_async

from chat.models import Message
from usage.models import DailyUsage

from ..helpers.sockets import connect, final_message, receive_until, send_message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


async def test_the_worker_counts_each_answers_tokens(celery_worker, user):
    communicator, _, _ = await connect(user)
    sent = await send_message(communicator, "Hi", settings={"max_new_tokens": 12})
    await receive_until(communicator, final_message(sent["answer"]["id"]))
    await communicator.disconnect()
    answer = await database_sync_to_async(Message.objects.get)(pk=sent["answer"]["id"])
    row = await database_sync_to_async(DailyUsage.objects.get)(user=user)
    assert (row.answers, row.completion_tokens) == (1, 12)
    assert row.prompt_tokens == answer.prompt_tokens > 0
