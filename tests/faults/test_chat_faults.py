"""Faults with real processes on the chat path: the generation worker
SIGKILLed mid-answer, Redis restarted (and its queued tasks lost) in the
middle of a conversation, tasks delivered twice.

These tests kill, pause and restart the session's own Celery worker and the
tests' Redis, and leave both running again for the tests after them."""

import asyncio
import json
import subprocess
import time
from urllib.parse import urlparse

import pytest
from channels.db import database_sync_to_async
from django.conf import settings as django_settings

from chat import dispatch
from chat.dispatch import chat_work_redispatch_lost
from chat.models import Message, MessageStatus

from ..helpers.polling import eventually
from ..helpers.sockets import connect, final_message, receive_until, send_message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration, pytest.mark.faults]


async def _send(communicator, content, conversation=None, parent=None, max_new_tokens=16):
    return await send_message(
        communicator, content, conversation=conversation, parent=parent, settings={"max_new_tokens": max_new_tokens}
    )


def _streamed(frames, answer_id) -> str:
    text = ""
    for frame in frames:
        if frame["type"] == "delta" and frame["message_id"] == answer_id:
            assert frame["offset"] == len(text), "each delta once, in order"
            text += frame["text"]
    return text


async def _statuses(conversation_id) -> list[tuple[str, str]]:
    return await database_sync_to_async(
        lambda: list(
            Message.objects.filter(conversation_id=conversation_id).order_by("pk").values_list("role", "status")
        )
    )()


async def test_a_generation_worker_killed_mid_answer(celery_worker, user):
    """The answer is `interrupted` within 10 s and the client hears it; once a
    worker is back the next message is answered; nothing else is lost."""
    communicator, _, _ = await connect(user)
    sent = await _send(communicator, "Tell me a very long story", max_new_tokens=4000)
    answer_id, conversation_id = sent["answer"]["id"], sent["conversation"]
    frames = await receive_until(
        communicator, lambda f: f["type"] == "delta" and f["message_id"] == answer_id, timeout=60
    )
    streaming_since = time.monotonic()
    while time.monotonic() - streaming_since < 2.5:  # the worker saves the shown text every second
        frames.append(await communicator.receive_json_from(timeout=10))
    celery_worker.kill()
    killed_at = time.monotonic()
    frames += await receive_until(communicator, final_message(answer_id), timeout=15)
    assert time.monotonic() - killed_at < 10
    assert frames[-1]["message"]["status"] == "interrupted"
    partial = frames[-1]["message"]["content"]
    assert partial and _streamed(frames, answer_id).startswith(partial), "the text stored so far is kept"

    await database_sync_to_async(celery_worker.restart)()
    sent = await _send(communicator, "And another?", conversation=conversation_id, parent=answer_id)
    frames = await receive_until(communicator, final_message(sent["answer"]["id"]), timeout=60)
    assert frames[-1]["message"]["status"] == "complete"
    await communicator.disconnect()
    assert await _statuses(conversation_id) == [
        ("user", "accepted"),
        ("assistant", "interrupted"),
        ("user", "accepted"),
        ("assistant", "complete"),
    ]


def _restart_redis(tmp_path) -> None:
    """Stops the tests' Redis without saving (its queues are lost, as in a
    crash) and starts it again on the same port."""
    port = urlparse(django_settings.REDIS_URL).port
    subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True, timeout=30)
    subprocess.run(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(tmp_path),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "yes",
            "--logfile",
            str(tmp_path / "redis.log"),
        ],
        check=True,
        timeout=30,
    )
    eventually(
        lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout.strip() == b"PONG",
        timeout=10,
        what="Redis back",
    )


async def _reconnect_and_subscribe(user, conversation_id, attempts: int = 5):
    """What the page does after a close: connect again (backing off), and
    subscribe to the conversation it shows."""
    for attempt in range(attempts):
        communicator, connected, code = await connect(user)
        if connected:
            await communicator.send_json_to({"type": "subscribe", "conversation": conversation_id})
            output = await communicator.receive_output(timeout=30)
            if output["type"] == "websocket.send":
                assert json.loads(output["text"])["type"] == "subscribed"
                return communicator
            code = output.get("code")
        print(f"reconnect attempt {attempt + 1} closed with {code}")
        await communicator.disconnect()
        await asyncio.sleep(1)
    raise AssertionError(f"no subscription after {attempts} reconnects")


async def test_redis_restarted_mid_conversation(celery_worker, user, settings, tmp_path):
    """A message sent just before Redis restarts loses its queued task with
    Redis's state; the client reconnects, housekeeping sends the task again,
    the answer arrives, and every stored message is there."""
    communicator, _, _ = await connect(user)
    first = await _send(communicator, "Hello before the restart")
    conversation_id = first["conversation"]
    await receive_until(communicator, final_message(first["answer"]["id"]), timeout=60)

    celery_worker.pause()  # so the next task waits in Redis, and is lost with it
    try:
        second = await _send(
            communicator, "Sent just before the restart", conversation=conversation_id, parent=first["answer"]["id"]
        )
        await database_sync_to_async(_restart_redis)(tmp_path)
    finally:
        celery_worker.resume()
    # The old socket is closed with 1012 if the restart broke its receive
    # (the page then reconnects), or rides it out and joins its group again;
    # a page that reconnects must hear the answer either way.
    stale = communicator
    communicator = await _reconnect_and_subscribe(user, conversation_id)
    # Housekeeping, as beat runs it: whichever task of the exchange was lost
    # (the moderation task, or the generation task the worker sent into the
    # dying Redis) is sent again.
    settings.CHAT_DISPATCH_GRACE_SECONDS = 0
    exchange = {second["user_message"]["id"], second["answer"]["id"]}
    answer = final_message(second["answer"]["id"])
    sent_again = []
    for _ in range(30):
        sent_again += await database_sync_to_async(chat_work_redispatch_lost)()
        try:
            frame = await communicator.receive_json_from(timeout=3)
            while not answer(frame):
                frame = await communicator.receive_json_from(timeout=30)
            break
        except TimeoutError:
            continue
    else:
        raise AssertionError("the answer never ended")
    assert frame["message"]["status"] == "complete"
    assert set(sent_again) <= exchange, sent_again
    await communicator.disconnect()
    await stale.disconnect()
    assert await _statuses(conversation_id) == [
        ("user", "accepted"),
        ("assistant", "complete"),
        ("user", "accepted"),
        ("assistant", "complete"),
    ]


async def test_tasks_delivered_twice_make_one_answer(celery_worker, user):
    """Both tasks of an exchange sent twice more while the first copies
    run: still one answer, streamed once."""
    communicator, _, _ = await connect(user)
    sent = await _send(communicator, "Count to three", max_new_tokens=64)
    question_id, answer_id = sent["user_message"]["id"], sent["answer"]["id"]
    for _ in range(2):
        await database_sync_to_async(dispatch.moderation_dispatch)(question_id)
        await database_sync_to_async(dispatch.generation_dispatch)(answer_id)
    frames = await receive_until(communicator, final_message(answer_id), timeout=60)
    while not await communicator.receive_nothing(timeout=3):  # time for a duplicate to show itself
        frames.append(await communicator.receive_json_from())
    await communicator.disconnect()
    answer = await database_sync_to_async(Message.objects.get)(pk=answer_id)
    assert answer.status == MessageStatus.COMPLETE and answer.completion_tokens == 64
    assert _streamed(frames, answer_id) == answer.content
    assert await _statuses(sent["conversation"]) == [("user", "accepted"), ("assistant", "complete")]
