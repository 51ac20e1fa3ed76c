"""The default engine on a CPU (dynamic batching) behind the real answer
path: the consumer, Redis, and a Celery worker process whose threads stream
concurrent answers out of one shared batch."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from chat.models import Message, MessageStatus

from ..helpers.sockets import connect, final_message, receive_until, send_message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


async def ask(user, content: str, max_new_tokens: int) -> tuple[Message, str]:
    communicator, _, _ = await connect(user)
    sent = await send_message(communicator, content, settings={"temperature": 0, "max_new_tokens": max_new_tokens})
    answer_id = sent["answer"]["id"]
    frames = await receive_until(communicator, final_message(answer_id), timeout=120)
    await communicator.disconnect()
    streamed = "".join(f["text"] for f in frames if f["type"] == "delta" and f["message_id"] == answer_id)
    return await database_sync_to_async(Message.objects.get)(pk=answer_id), streamed


async def test_concurrent_greedy_answers_equal_an_answer_alone(celery_worker, make_user):
    users = [await database_sync_to_async(make_user)(username=f"batch{i}") for i in range(5)]
    together = await asyncio.gather(*(ask(u, "Hello there, who are you?", 40) for u in users[:4]))
    alone, alone_streamed = await ask(users[4], "Hello there, who are you?", 40)
    assert alone.status == MessageStatus.COMPLETE and alone.content and alone_streamed == alone.content
    for answer, streamed in together:
        assert answer.status == MessageStatus.COMPLETE
        assert streamed == answer.content == alone.content
        assert answer.completion_tokens == alone.completion_tokens
