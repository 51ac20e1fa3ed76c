"""The WebSocket's own checks: who may connect, what they may touch, and
how bad frames are answered. No worker is needed here."""

import json

import pytest
from channels.db import database_sync_to_async

from chat.models import Conversation

from ..helpers.sockets import connect

pytestmark = pytest.mark.django_db(transaction=True)


async def test_anonymous_socket_is_refused():
    communicator, connected, code = await connect(None)
    assert not connected and code == 4401
    await communicator.disconnect()


async def test_unapproved_account_is_refused(make_user):
    user = await database_sync_to_async(make_user)(username="waiting", is_approved=False)
    communicator, connected, code = await connect(user)
    assert not connected and code == 4401
    await communicator.disconnect()


async def test_another_users_conversation_is_not_found(make_user):
    owner = await database_sync_to_async(make_user)(username="owner")
    intruder = await database_sync_to_async(make_user)(username="intruder")
    conversation = await database_sync_to_async(Conversation.objects.create)(owner=owner)
    communicator, connected, _ = await connect(intruder)
    assert connected
    for frame in (
        {"type": "subscribe", "conversation": conversation.pk},
        {"type": "send", "conversation": conversation.pk, "parent": None, "content": "hi"},
    ):
        await communicator.send_json_to(frame)
        reply = await communicator.receive_json_from(timeout=10)
        assert reply["type"] == "error" and reply["code"] == "not_found"
    assert await database_sync_to_async(conversation.messages.count)() == 0
    await communicator.disconnect()


@pytest.mark.parametrize(
    "raw,code",
    [
        ("{not json", "invalid_json"),
        ("[1, 2]", "invalid_request"),
        (json.dumps({"type": "launch"}), "unknown_type"),
        (json.dumps({"type": "send", "conversation": "1; drop table", "content": "x"}), "invalid_request"),
        (json.dumps({"type": "send", "conversation": None, "content": 42}), "invalid_request"),
        (
            json.dumps({"type": "send", "conversation": None, "content": "hi", "settings": {"temperature": 9}}),
            "invalid_params",
        ),
        (json.dumps({"type": "send", "conversation": None, "content": "x" * 100_000}), "too_long"),
        (json.dumps({"type": "stop", "message": 999999}), "not_found"),
    ],
)
async def test_bad_frames_get_clear_errors(user, raw, code):
    communicator, connected, _ = await connect(user)
    assert connected
    await communicator.send_to(text_data=raw)
    reply = await communicator.receive_json_from(timeout=10)
    assert reply["type"] == "error" and reply["code"] == code and reply["message"]
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from(timeout=10))["type"] == "pong"
    assert await database_sync_to_async(Conversation.objects.count)() == 0
    await communicator.disconnect()


async def test_an_idle_socket_stays_open(user):
    """Nothing arrives for longer than the channel layer's blocking receive
    (5 s); the socket must still work afterwards."""
    import asyncio

    communicator, connected, _ = await connect(user)
    assert connected
    await asyncio.sleep(7)
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from(timeout=10))["type"] == "pong"
    await communicator.disconnect()


async def test_a_consumer_cancelled_before_its_disconnect_stops_its_keepalive(user, settings):
    """An ASGI server may cancel a consumer still busy after its client left
    (Daphne's application_close_timeout), so `disconnect` never runs. Its
    keepalive loop must end with it (under load, orphaned loops that then
    polled the database kept Daphne's database thread saturated for good,
    bench/load.py), and the socket must stop counting against the user's
    cap at once, not only when its lease ends."""
    import asyncio

    conversation = await database_sync_to_async(Conversation.objects.create)(owner=user)
    communicator, connected, _ = await connect(user)
    assert connected
    await communicator.send_json_to({"type": "subscribe", "conversation": conversation.pk})
    assert (await communicator.receive_json_from(timeout=10))["type"] == "subscribed"

    def loops():
        return [t for t in asyncio.all_tasks() if not t.done() and t.get_coro().__qualname__.endswith("._keepalive")]

    assert len(loops()) == 1
    communicator.future.cancel()  # what Daphne does to a consumer that outlives the timeout
    with pytest.raises(asyncio.CancelledError):
        await communicator.future
    await asyncio.sleep(0.1)
    assert loops() == []
    settings.WEBSOCKET_MAX_PER_USER = 1
    again, connected, _ = await connect(user)
    assert connected, "the cancelled socket no longer counts"
    await again.disconnect()


async def test_an_idle_socket_costs_no_database_query(user, monkeypatch):
    """A socket watching a conversation while nothing happens runs no SQL,
    in any thread: finding dead answers is beat's job. Sockets used to poll
    every 2 s, and 500 idle ones opened 113-148 database sessions a second."""
    import asyncio

    from django.db.backends.utils import CursorWrapper

    conversation = await database_sync_to_async(Conversation.objects.create)(owner=user)
    communicator, connected, _ = await connect(user)
    assert connected
    await communicator.send_json_to({"type": "subscribe", "conversation": conversation.pk})
    assert (await communicator.receive_json_from(timeout=10))["type"] == "subscribed"

    executed = []
    execute = CursorWrapper.execute
    monkeypatch.setattr(
        CursorWrapper, "execute", lambda self, sql, params=None: executed.append(sql) or execute(self, sql, params)
    )
    await asyncio.sleep(5)
    assert executed == []
    await communicator.send_json_to({"type": "subscribe", "conversation": conversation.pk})
    assert (await communicator.receive_json_from(timeout=10))["type"] == "subscribed"
    assert executed, "the counter sees the socket's queries"
    await communicator.disconnect()


async def test_a_slow_database_call_of_one_socket_stalls_no_other(user, monkeypatch):
    """One socket's database call is held inside the database; another
    socket's frames, database calls included, are answered meanwhile. On
    Channels' one thread-sensitive thread the second would wait behind the
    first (here: for ever, so the test would time out)."""
    import asyncio
    import threading

    from chat import consumers

    slow, quick = [await database_sync_to_async(Conversation.objects.create)(owner=user) for _ in range(2)]
    release, entered = threading.Event(), threading.Event()
    access = consumers.access_conversation_by_id

    def held_for_slow(user, conversation_id):
        if conversation_id == slow.pk:
            entered.set()
            release.wait(timeout=60)
        return access(user, conversation_id)

    monkeypatch.setattr(consumers, "access_conversation_by_id", held_for_slow)
    held, _, _ = await connect(user)
    other, _, _ = await connect(user)
    try:
        await held.send_json_to({"type": "subscribe", "conversation": slow.pk})
        assert await asyncio.to_thread(entered.wait, 10)
        await other.send_json_to({"type": "subscribe", "conversation": quick.pk})
        assert (await other.receive_json_from(timeout=10))["type"] == "subscribed"
        await other.send_json_to({"type": "ping"})
        assert (await other.receive_json_from(timeout=10))["type"] == "pong"
        assert not release.is_set(), "the first socket's call was still held"
    finally:
        release.set()
    assert (await held.receive_json_from(timeout=10))["type"] == "subscribed"
    await held.disconnect()
    await other.disconnect()
