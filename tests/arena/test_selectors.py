"""What the browser learns of an arena match before the vote: nothing that
tells the two models apart but their words. Speed, token counts (a
tokenizer's fingerprint) and error texts (a ContextTooLong names the
model's context size) would de-blind the vote and skew the leaderboard."""

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from arena import selectors, services
from chat.events import conversation_group
from chat.models import Message, MessageStatus

from ..helpers.sockets import connect_arena
from .helpers import played_match

REVEALING = ("model", "tokens_per_second", "ttft_ms", "prompt_tokens", "completion_tokens")


def _with_telltales(match):
    Message.objects.filter(pk=match.answer_a_id).update(
        prompt_tokens=12, completion_tokens=80, ttft_ms=35.0, tokens_per_second=41.5
    )
    Message.objects.filter(pk=match.answer_b_id).update(
        status=MessageStatus.FAILED, error="The conversation is longer than this model's 2048-token context."
    )
    match.refresh_from_db()
    return match


@pytest.mark.django_db
def test_before_the_vote_an_answer_shows_only_its_words(arena_user, versions, captured_tasks):
    match = _with_telltales(played_match(arena_user))
    answers = selectors.match_to_dict(match)["answers"]
    for side in ("a", "b"):
        assert [field for field in REVEALING if answers[side].get(field) is not None] == []
    assert "2048" not in answers["b"]["error"] and answers["b"]["error"]
    assert answers["b"]["status"] == MessageStatus.FAILED


@pytest.mark.django_db
def test_after_the_vote_everything_is_shown(arena_user, versions, captured_tasks):
    match = _with_telltales(services.match_vote(match=played_match(arena_user), outcome="a"))
    answers = selectors.match_to_dict(match)["answers"]
    assert answers["a"]["tokens_per_second"] == 41.5 and answers["a"]["completion_tokens"] == 80
    assert "2048" in answers["b"]["error"]


@pytest.mark.django_db(transaction=True)
async def test_the_socket_relays_answers_blind(arena_user, versions, captured_tasks):
    match = await database_sync_to_async(played_match)(arena_user)
    communicator, connected, _ = await connect_arena(arena_user)
    assert connected
    await communicator.send_json_to({"type": "watch", "match": match.pk})
    while (await communicator.receive_json_from(timeout=10))["type"] != "watching":
        pass
    await get_channel_layer().group_send(
        conversation_group(match.conversation_id),
        {
            "type": "chat.message",
            "message": {
                "id": match.answer_a_id,
                "status": "error",
                "content": "",
                "model": "policy-one",
                "tokens_per_second": 41.5,
                "ttft_ms": 35.0,
                "prompt_tokens": 12,
                "completion_tokens": 80,
                "error": "Longer than the 2048-token context.",
            },
        },
    )
    relayed = await communicator.receive_json_from(timeout=10)
    assert relayed["type"] == "message"
    assert [field for field in REVEALING if relayed["message"].get(field) is not None] == []
    assert "2048" not in relayed["message"]["error"]
    await communicator.disconnect()
