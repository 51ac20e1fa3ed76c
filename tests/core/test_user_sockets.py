"""core/user_sockets.py: how many sockets one account may hold open, in
every web process together, and how fast one socket may send frames."""

import asyncio
import json
import time

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from core.user_sockets import ACCOUNT_CHANGED, user_group
from jobs.models import TrainingJob

from ..conftest import session_cookie
from ..helpers.polling import eventually_async
from ..helpers.sockets import cookie_of, handshake
from ..processes import start_asgi_server

pytestmark = pytest.mark.django_db(transaction=True)


def refused_with(output) -> int | None:
    return output["code"] if output["type"] == "websocket.close" else None


async def test_one_socket_past_the_cap_is_refused_while_another_user_connects(make_user, settings):
    settings.WEBSOCKET_MAX_PER_USER = 3
    alice = await database_sync_to_async(make_user)(username="alice", arena_enabled=True)
    bob = await database_sync_to_async(make_user)(username="bob")
    held = []
    for path in ("/ws/chat/", "/ws/arena/", "/ws/chat/"):
        communicator, first = await handshake(await cookie_of(alice), path)
        assert json.loads(first["text"])["type"] == "ready"
        held.append(communicator)

    for path in ("/ws/chat/", "/ws/arena/"):  # the chat and arena sockets count together
        communicator, first = await handshake(await cookie_of(alice), path)
        assert refused_with(first) == 4429
        assert "3" in first["reason"] and "open" in first["reason"], first
        await communicator.disconnect()

    communicator, first = await handshake(await cookie_of(bob))
    assert json.loads(first["text"])["type"] == "ready", "another user still connects"
    await communicator.disconnect()

    await held.pop().disconnect()
    communicator, first = await handshake(await cookie_of(alice))
    assert json.loads(first["text"])["type"] == "ready", "a closed socket frees its place"
    held.append(communicator)
    for communicator in held:
        await communicator.disconnect()


async def test_the_job_socket_counts_too(make_user, settings):
    settings.WEBSOCKET_MAX_PER_USER = 1
    admin = await database_sync_to_async(make_user)(username="boss", role="admin")
    job = await database_sync_to_async(TrainingJob.objects.create)(
        kind="sft", preset="cpu-quick", recipe="training.sft", created_by=admin, state="running"
    )
    chat, first = await handshake(await cookie_of(admin))
    assert json.loads(first["text"])["type"] == "ready"
    communicator, first = await handshake(await cookie_of(admin), f"/ws/jobs/{job.pk}/")
    assert refused_with(first) == 4429
    await communicator.disconnect()
    await chat.disconnect()


async def flood(communicator, frames: int) -> tuple[int, dict]:
    """Sends `frames` pings at once; (pongs heard, how the socket closed)."""
    for _ in range(frames):
        await communicator.send_to(text_data=json.dumps({"type": "ping"}))
    pongs = 0
    while True:
        output = await communicator.receive_output(timeout=10)
        if output["type"] == "websocket.close":
            return pongs, output
        pongs += json.loads(output["text"])["type"] == "pong"


async def test_a_flood_of_frames_closes_the_chat_socket_with_4429(make_user, settings):
    settings.WEBSOCKET_FRAMES_PER_SECOND = 2
    settings.WEBSOCKET_FRAME_BURST = 10
    flooder = await database_sync_to_async(make_user)(username="flooder")
    neighbour = await database_sync_to_async(make_user)(username="neighbour")
    quiet, _ = await handshake(await cookie_of(neighbour))
    communicator, _ = await handshake(await cookie_of(flooder))
    pongs, closed = await flood(communicator, 200)
    assert closed["code"] == 4429 and "frames" in closed["reason"], closed
    assert 10 <= pongs < 200, "the burst is answered, the rest is not"
    await communicator.disconnect()
    await quiet.send_json_to({"type": "ping"})
    assert (await quiet.receive_json_from(timeout=10))["type"] == "pong", "another user's socket is untouched"
    await quiet.disconnect()


async def test_a_flood_of_frames_closes_the_job_socket_with_4429(make_user, settings):
    settings.WEBSOCKET_FRAMES_PER_SECOND = 2
    settings.WEBSOCKET_FRAME_BURST = 10
    admin = await database_sync_to_async(make_user)(username="boss", role="admin")
    job = await database_sync_to_async(TrainingJob.objects.create)(
        kind="sft", preset="cpu-quick", recipe="training.sft", created_by=admin, state="running"
    )
    communicator, first = await handshake(await cookie_of(admin), f"/ws/jobs/{job.pk}/")
    assert json.loads(first["text"])["type"] == "snapshot"
    pongs, closed = await flood(communicator, 200)
    assert closed["code"] == 4429 and pongs < 200
    await communicator.disconnect()


async def test_the_keepalive_joins_the_groups_again_only_when_redis_forgot_the_socket(make_user, settings):
    """A renewal is one Redis call; the groups are joined again when the
    lease was gone (Redis lost its data, and the groups with it), so the
    socket hears its account's events again within a round."""
    settings.WEBSOCKET_LEASE_SECONDS = 0.3  # a keepalive round every 0.1 s
    user = await database_sync_to_async(make_user)(username="idle")
    communicator, first = await handshake(await cookie_of(user))
    assert json.loads(first["text"])["type"] == "ready"
    layer = get_channel_layer()
    key = f"{layer.prefix}:sockets:{user.pk}"
    redis = layer.connection(layer.consistent_hash(key))
    [channel] = [name.decode() for name in await redis.zrange(key, 0, -1)]

    # Out of the account's group with its lease intact: rounds renew the lease only.
    await layer.group_discard(user_group(user.pk), channel)
    await asyncio.sleep(0.5)
    await layer.group_send(user_group(user.pk), {"type": "account.changed"})
    assert await communicator.receive_nothing(timeout=0.3), "not joined again while Redis knew the socket"

    # Redis forgot the socket (flushed): the next round adds its lease and joins its groups.
    await redis.delete(key)
    await eventually_async(lambda: redis.zscore(key, channel), what="the lease added again")
    await asyncio.sleep(0.05)
    await layer.group_send(user_group(user.pk), {"type": "account.changed"})
    closed = await communicator.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": ACCOUNT_CHANGED, "reason": closed.get("reason", "")}


@pytest.mark.integration
def test_the_sockets_of_a_killed_process_stop_counting_when_their_lease_ends(
    make_user, settings, app_env, process_log_dir
):
    """A web process killed outright closes nothing: its sockets stay in
    Redis's count until their leases end, then this user may connect again."""
    lease = 15
    settings.WEBSOCKET_MAX_PER_USER = 2
    settings.WEBSOCKET_LEASE_SECONDS = lease
    env = dict(app_env, WEBSOCKET_MAX_PER_USER="2", WEBSOCKET_LEASE_SECONDS=str(lease))
    server, url = start_asgi_server(env, process_log_dir, name="web-killed")
    user = make_user(username="tabs")
    headers = {"Cookie": f"sessionid={session_cookie(user)}", "Origin": url}
    ws_url = url.replace("http://", "ws://") + "/ws/chat/"
    sockets = []
    try:
        for _ in range(2):
            sockets.append(ws_connect(ws_url, additional_headers=headers, open_timeout=30))
            assert json.loads(sockets[-1].recv(timeout=30))["type"] == "ready"
        with ws_connect(ws_url, additional_headers=headers, open_timeout=30) as third:
            with pytest.raises(ConnectionClosed) as closed:
                third.recv(timeout=30)
        assert closed.value.rcvd.code == 4429
        server.kill()
        killed_at = time.monotonic()
    finally:
        for socket in sockets:
            socket.close_socket()
        server.stop()

    async def attempt():
        communicator, first = await handshake(await cookie_of(user))
        await communicator.disconnect()
        return refused_with(first)

    from asgiref.sync import async_to_sync

    assert async_to_sync(attempt)() == 4429, "the dead process's sockets still count within their lease"
    assert time.monotonic() - killed_at < lease, "the check above ran within the lease"
    while async_to_sync(attempt)() == 4429:
        assert time.monotonic() - killed_at < lease * 3, "the dead sockets never stopped counting"
        time.sleep(1)
