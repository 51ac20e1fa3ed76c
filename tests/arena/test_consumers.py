"""The arena socket's own checks: who may connect, what a start stores and
says, and what others' matches and trials refuse. No worker runs here."""

import pytest
from channels.db import database_sync_to_async

from arena.models import ArenaMatch
from chat.models import Conversation

from ..helpers.sockets import connect_arena
from .helpers import played_match

pytestmark = pytest.mark.django_db(transaction=True)


async def test_anonymous_and_not_enabled_sockets_are_closed(make_user):
    communicator, connected, code = await connect_arena(None)
    assert not connected and code == 4401
    await communicator.disconnect()
    plain = await database_sync_to_async(make_user)(username="plain")
    communicator, connected, code = await connect_arena(plain)
    assert not connected and code == 4403
    await communicator.disconnect()


async def test_start_stores_a_match_and_hides_the_versions(arena_user, versions, captured_tasks):
    communicator, connected, _ = await connect_arena(arena_user)
    assert connected
    await communicator.send_json_to({"type": "start", "request_id": "r1", "content": "Say hello"})
    reply = await communicator.receive_json_from(timeout=10)
    while reply["type"] == "message":  # the placeholders' events may come first
        assert "model" not in reply["message"]
        reply = await communicator.receive_json_from(timeout=10)
    assert reply["type"] == "started" and reply["request_id"] == "r1"
    match = reply["match"]
    assert match["versions"] is None and match["question"]["content"] == "Say hello"
    assert "model" not in match["answers"]["a"] and "model" not in match["answers"]["b"]
    stored = await database_sync_to_async(ArenaMatch.objects.get)(pk=match["id"])
    assert stored.user_id == arena_user.pk and stored.kind == ArenaMatch.Kind.ARENA
    assert len(captured_tasks) == 1 and captured_tasks[0][0] == "moderate"
    await communicator.disconnect()


async def test_one_version_is_a_clear_error_and_leaves_nothing(arena_user, versions, captured_tasks):
    await database_sync_to_async(versions[1].delete)()
    communicator, _, _ = await connect_arena(arena_user)
    await communicator.send_json_to({"type": "start", "content": "Say hello"})
    reply = await communicator.receive_json_from(timeout=10)
    assert reply["type"] == "error" and reply["code"] == "not_enough_versions"
    assert not await database_sync_to_async(Conversation.objects.exists)()
    await communicator.disconnect()


async def test_others_matches_cannot_be_watched_or_stopped(arena_user, make_user, versions, captured_tasks):
    match = await database_sync_to_async(played_match)(arena_user)
    other = await database_sync_to_async(make_user)(username="other", arena_enabled=True)
    communicator, _, _ = await connect_arena(other)
    for frame in ({"type": "watch", "match": match.pk}, {"type": "stop", "match": match.pk}):
        await communicator.send_json_to(frame)
        reply = await communicator.receive_json_from(timeout=10)
        assert reply["type"] == "error" and reply["code"] == "not_found"
    await communicator.disconnect()


async def test_trials_are_for_admins(arena_user, admin, versions, captured_tasks):
    communicator, _, _ = await connect_arena(arena_user)
    await communicator.send_json_to({"type": "start", "content": "hi", "trial_version": versions[1].pk})
    reply = await communicator.receive_json_from(timeout=10)
    assert reply["type"] == "error" and reply["code"] == "forbidden"
    assert not await database_sync_to_async(ArenaMatch.objects.exists)()
    await communicator.disconnect()

    communicator, _, _ = await connect_arena(admin)
    await communicator.send_json_to({"type": "start", "content": "hi", "trial_version": versions[1].pk})
    reply = await communicator.receive_json_from(timeout=10)
    while reply["type"] == "message":
        reply = await communicator.receive_json_from(timeout=10)
    assert reply["type"] == "started" and reply["match"]["kind"] == "trial"
    assert reply["match"]["versions"] == {"a": versions[0].name, "b": versions[1].name}
    await communicator.disconnect()
