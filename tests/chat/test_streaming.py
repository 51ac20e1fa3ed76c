"""The whole answer path with real parts: the consumer, Redis as channel
layer and broker, and a Celery worker process running the tiny model."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from chat import runtime
from chat.models import Conversation, Message, MessageStatus
from moderation.models import ModerationRule, ReviewItem

from ..helpers.sockets import connect, final_message, receive_until, send_message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def streamed_text(frames, message_id):
    text = ""
    for frame in frames:
        if frame["type"] == "delta" and frame["message_id"] == message_id:
            assert frame["offset"] == len(text), "deltas arrive in order, none lost"
            text += frame["text"]
    return text


async def get(model, **kwargs):
    return await database_sync_to_async(model.objects.get)(**kwargs)


async def test_answer_streams_token_by_token_and_is_stored(celery_worker, user):
    communicator, _, _ = await connect(user)
    sent = await send_message(communicator, "Hello there", settings={"max_new_tokens": 300, "temperature": 0.8})
    answer_id = sent["answer"]["id"]
    assert sent["user_message"]["status"] == "pending" and sent["answer"]["status"] == "queued"
    frames = await receive_until(communicator, final_message(answer_id))
    final = frames[-1]["message"]
    assert final["status"] == "complete"
    deltas = [f for f in frames if f["type"] == "delta"]
    assert len(deltas) >= 2, "the answer arrives in pieces, not at once"
    assert streamed_text(frames, answer_id) == final["content"]
    answer = await get(Message, pk=answer_id)
    assert answer.content == final["content"] and answer.completion_tokens == 300
    assert answer.prompt_tokens > 0 and answer.ttft_ms > 0 and answer.tokens_per_second > 0
    assert answer.moderation == {**answer.moderation, "flagged": False}
    question = await get(Message, pk=sent["user_message"]["id"])
    assert question.status == MessageStatus.ACCEPTED and question.moderation["flagged"] is False
    await communicator.disconnect()


async def test_a_long_answer_arrives_whole(celery_worker, user):
    """Thousands of tokens through the channel layer: every delta arrives, in
    order, and together they are exactly the stored answer."""
    communicator, _, _ = await connect(user)
    sent = await send_message(communicator, "Write a very long story", settings={"max_new_tokens": 3000})
    answer_id = sent["answer"]["id"]
    frames = await receive_until(communicator, final_message(answer_id), timeout=120)
    answer = await get(Message, pk=answer_id)
    assert answer.status == MessageStatus.COMPLETE and answer.completion_tokens == 3000
    assert streamed_text(frames, answer_id) == answer.content and len(answer.content) > 3000
    await communicator.disconnect()


async def test_stop_keeps_the_partial_answer(celery_worker, user):
    communicator, _, _ = await connect(user)
    sent = await send_message(communicator, "Tell me a long story", settings={"max_new_tokens": 4000})
    answer_id = sent["answer"]["id"]
    before = await receive_until(communicator, lambda f: f["type"] == "delta")
    await communicator.send_json_to({"type": "stop", "message": answer_id})
    frames = before + await receive_until(communicator, final_message(answer_id))
    final = frames[-1]["message"]
    assert final["status"] == "stopped"
    answer = await get(Message, pk=answer_id)
    assert answer.content and answer.content == streamed_text(frames, answer_id)
    assert 0 < answer.completion_tokens < 4000
    assert not await database_sync_to_async(runtime.is_cancel_requested)(answer_id)
    await communicator.disconnect()


async def test_regenerate_makes_a_second_branch(celery_worker, user):
    communicator, _, _ = await connect(user)
    sent = await send_message(communicator, "Give me a name", settings={"max_new_tokens": 8})
    first_id = sent["answer"]["id"]
    await receive_until(communicator, final_message(first_id))
    await communicator.send_json_to({"type": "regenerate", "request_id": "r2", "message": first_id})
    regenerated = (await receive_until(communicator, lambda f: f["type"] == "sent"))[-1]["answer"]
    assert regenerated["parent"] == sent["user_message"]["id"] and regenerated["id"] != first_id
    await receive_until(communicator, final_message(regenerated["id"]))
    conversation = await get(Conversation, pk=sent["conversation"])
    assert conversation.current_leaf_id == regenerated["id"]
    siblings = await database_sync_to_async(
        lambda: list(Message.objects.filter(parent_id=regenerated["parent"]).values_list("status", flat=True))
    )()
    assert siblings == ["complete", "complete"]
    await communicator.disconnect()


async def test_flagged_input_never_reaches_the_model(celery_worker, user):
    communicator, _, _ = await connect(user)
    sent = await send_message(communicator, "I want to kill myself tonight")
    answer_id = sent["answer"]["id"]
    frames = await receive_until(communicator, final_message(answer_id))
    assert not [f for f in frames if f["type"] == "delta"]
    final = frames[-1]["message"]
    assert final["status"] == "moderated" and final["content"] and final["model"] == ""
    question = await get(Message, pk=sent["user_message"]["id"])
    assert question.status == MessageStatus.FLAGGED and "self-harm" in question.moderation["category_scores"]
    item = await get(ReviewItem, message_id=answer_id)
    assert item.direction == "input" and item.text == "I want to kill myself tonight"
    await communicator.disconnect()


async def test_flagged_output_is_retracted_and_replaced(celery_worker, user):
    # An admin's output rule that the tiny model's text always trips.
    await database_sync_to_async(ModerationRule.objects.create)(
        category="violence", kind="regex", pattern=r"\S", applies_to="output", note="test: flag every answer"
    )
    communicator, _, _ = await connect(user)
    sent = await send_message(communicator, "Say something", settings={"max_new_tokens": 400})
    answer_id = sent["answer"]["id"]
    frames = await receive_until(communicator, final_message(answer_id))
    final = frames[-1]["message"]
    assert final["status"] == "moderated", final
    # A chunk of only spaces or line breaks passes even this rule; no text does.
    assert streamed_text(frames, answer_id).strip() == "", "no flagged text was shown"
    item = await get(ReviewItem, message_id=answer_id)
    assert item.direction == "output" and item.text
    answer = await get(Message, pk=answer_id)
    assert answer.completion_tokens < 400, "generation stopped at the first flagged chunk"
    await communicator.disconnect()


async def test_dead_worker_answer_is_reported_interrupted(user, settings, housekeeper):
    """An answer left `streaming` with no heartbeat (its worker was killed)
    is marked interrupted by beat's reaper and the watching client hears it
    within 10 s."""
    conversation = await database_sync_to_async(Conversation.objects.create)(owner=user)
    question = await database_sync_to_async(Message.objects.create)(
        conversation=conversation, role="user", content="hi", status=MessageStatus.ACCEPTED
    )
    from django.utils import timezone

    answer = await database_sync_to_async(Message.objects.create)(
        conversation=conversation,
        parent=question,
        role="assistant",
        content="partial",
        status=MessageStatus.STREAMING,
        started_at=timezone.now() - timezone.timedelta(seconds=60),
    )
    communicator, _, _ = await connect(user)
    await communicator.send_json_to({"type": "subscribe", "conversation": conversation.pk})
    loop = asyncio.get_running_loop()
    started = loop.time()
    frames = await receive_until(communicator, final_message(answer.pk), timeout=10)
    assert loop.time() - started < 10
    assert frames[-1]["message"]["status"] == "interrupted" and frames[-1]["message"]["content"] == "partial"
    await communicator.disconnect()


@pytest.mark.smollm2
async def test_smollm2_answer_streams_as_english_through_the_stack(user, settings):
    """The real bundled model behind the same path a worker runs: the answer
    service streams through Redis to the consumer, which relays deltas."""
    import os

    settings.CHAT_MODEL = os.environ.get("SMOLLM2_DIR", "var/models/smollm2-135m-instruct")
    answer, frames = await _answer_in_process(user, {"temperature": 0, "max_new_tokens": 48})
    final = frames[-1]["message"]
    assert final["status"] == "complete", final
    text = streamed_text(frames, answer.pk)
    assert text == final["content"] and text.strip()
    words = [w.strip(".,!:;*-()") for w in text.split()]
    assert len(words) >= 3 and sum(w.isascii() and w.isalpha() for w in words if w) / len(words) > 0.7
    assert any(word in text.lower() for word in ("sea", "ocean", "water", "wave"))
    assert final["model"].endswith("smollm2-135m-instruct")


async def test_a_flagged_phrase_mid_answer_never_reaches_the_client(celery_worker, user):
    """An output rule for a word the tiny model writes now and then: the
    text before it streams, the word itself never reaches the client, and
    the answer is retracted. Sampling decides where the word falls, so a
    few answers are tried until one has it mid-way."""
    await database_sync_to_async(ModerationRule.objects.create)(
        category="violence", kind="regex", pattern="the", applies_to="output", note="test: a common word"
    )
    communicator, _, _ = await connect(user)
    for _ in range(8):
        sent = await send_message(
            communicator, "Tell me about the sea", settings={"max_new_tokens": 300, "temperature": 1.0}
        )
        answer_id = sent["answer"]["id"]
        frames = await receive_until(communicator, final_message(answer_id))
        shown = streamed_text(frames, answer_id)
        assert "the" not in shown.lower()
        status = frames[-1]["message"]["status"]
        if status == "moderated" and shown:
            break
    else:
        pytest.fail("no answer in 8 had the word after some text")
    assert any(f["type"] == "retract" and f["message_id"] == answer_id for f in frames)
    item = await get(ReviewItem, message_id=answer_id)
    assert item.text.lower().startswith(shown.lower()) and "the" in item.text.lower()[len(shown) :]
    await communicator.disconnect()


async def _answer_in_process(user, settings_values=None):
    """A conversation with an accepted question and a queued answer, then the
    answer service run here, watched over the WebSocket."""
    from chat.worker import answer_generate

    conversation = await database_sync_to_async(Conversation.objects.create)(owner=user)
    question = await database_sync_to_async(Message.objects.create)(
        conversation=conversation, role="user", content="Tell me about the sea", status=MessageStatus.ACCEPTED
    )
    answer = await database_sync_to_async(Message.objects.create)(
        conversation=conversation,
        parent=question,
        role="assistant",
        status=MessageStatus.QUEUED,
        sampling=settings_values or {"max_new_tokens": 40},
    )
    communicator, _, _ = await connect(user)
    await communicator.send_json_to({"type": "subscribe", "conversation": conversation.pk})
    await receive_until(communicator, lambda f: f["type"] == "subscribed")
    await database_sync_to_async(answer_generate)(message_id=answer.pk)
    frames = await receive_until(communicator, final_message(answer.pk))
    await communicator.disconnect()
    return answer, frames


async def test_remote_backend_streams_through_the_stack(user, settings, openai_server_url, tiny_model_dir):
    settings.GENERATION_BACKEND = "openai"
    settings.OPENAI_BASE_URL = openai_server_url
    settings.OPENAI_MODEL = str(tiny_model_dir)
    answer, frames = await _answer_in_process(user)
    final = frames[-1]["message"]
    assert final["status"] == "complete" and final["content"] == streamed_text(frames, answer.pk)
    assert final["completion_tokens"] == 40 and final["model"] == str(tiny_model_dir)


async def test_a_failing_remote_server_is_a_clear_message_in_the_chat(user, settings):
    settings.GENERATION_BACKEND = "openai"
    settings.OPENAI_BASE_URL = "http://admin:s3cret@127.0.0.1:9/v1"
    settings.OPENAI_MODEL = "some-model"
    answer, frames = await _answer_in_process(user)
    final = frames[-1]["message"]
    assert final["status"] == "failed" and final["model"] == "some-model"
    assert final["error"] == "The model server cannot be reached; try again shortly.", "no URL, no credentials"
