"""An arena round on the real path: the arena socket, Redis as channel layer
and broker, and a Celery worker process answering with two different tiny
models, one per side."""

import pytest
from channels.db import database_sync_to_async

from arena import services
from arena.models import ArenaMatch
from chat.models import Message, MessageStatus
from registry.models import ModelVersion

from ..helpers.sockets import connect_arena, receive_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

FINAL = {"complete", "stopped", "interrupted", "moderated", "failed"}


def streamed_text(frames, message_id):
    text = ""
    for frame in frames:
        if frame["type"] == "delta" and frame["message_id"] == message_id:
            assert frame["offset"] == len(text), "deltas arrive in order, none lost"
            text += frame["text"]
    return text


@pytest.fixture
def tiny_versions(db, tiny_model_dir, second_tiny_model_dir):
    return [
        ModelVersion.objects.create(name="tiny-a", source="imported", path=str(tiny_model_dir), is_serving=True),
        ModelVersion.objects.create(
            name="tiny-b", source="imported", path=str(second_tiny_model_dir), arena_enabled=True
        ),
    ]


async def test_both_answers_stream_from_their_own_versions(celery_worker, arena_user, tiny_versions):
    communicator, connected, _ = await connect_arena(arena_user)
    assert connected
    await communicator.send_json_to({"type": "start", "request_id": "r1", "content": "Tell me about the sea"})
    frames = await receive_until(communicator, lambda f: f["type"] in ("started", "error"), timeout=20)
    assert frames[-1]["type"] == "started", frames[-1]
    match = frames[-1]["match"]
    ids = {side: match["answers"][side]["id"] for side in "ab"}
    done: dict[int, dict] = {}

    def both_final(frame):
        if (
            frame["type"] == "message"
            and frame["message"]["id"] in ids.values()
            and frame["message"]["status"] in FINAL
        ):
            done[frame["message"]["id"]] = frame["message"]
        return len(done) == 2

    frames += await receive_until(communicator, both_final, timeout=120)
    assert all(message["status"] == "complete" for message in done.values()), done
    assert not any("model" in f["message"] for f in frames if f["type"] == "message"), "the socket never names a model"

    stored = await database_sync_to_async(
        lambda: ArenaMatch.objects.select_related("answer_a", "answer_b", "version_a", "version_b").get(pk=match["id"])
    )()
    for side, answer, version in (("a", stored.answer_a, stored.version_a), ("b", stored.answer_b, stored.version_b)):
        assert len([f for f in frames if f["type"] == "delta" and f["message_id"] == ids[side]]) >= 2
        assert streamed_text(frames, ids[side]) == answer.content == done[ids[side]]["content"]
        assert answer.status == MessageStatus.COMPLETE and answer.model_version_id == version.pk
        assert answer.model_name == version.name and answer.completion_tokens > 0
    assert {stored.version_a.name, stored.version_b.name} == {"tiny-a", "tiny-b"}
    assert stored.answer_a.content != stored.answer_b.content, "two models with different weights"
    question = await database_sync_to_async(Message.objects.get)(pk=match["question"]["id"])
    assert question.status == MessageStatus.ACCEPTED
    await communicator.disconnect()

    voted = await database_sync_to_async(services.match_vote)(match=stored, outcome="b")
    task = await database_sync_to_async(lambda: voted.preference_task)()
    assert task is not None and voted.outcome == "b"
