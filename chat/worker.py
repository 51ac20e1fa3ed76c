"""The two worker services of an answer: input moderation of the user's
message, then the streamed answer (claim, stream through the hold-back
gate, finalise). Both re-fetch rows by id and return early when the row
moved on (stopped, deleted, or the task was delivered twice). What the
model reads is chat.selectors.model_context; which model answers is
registry.serving."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.db import retry_if_locked
from core.telemetry.instruments import generation_record
from core.text import clean_text
from engine.backends import ContextTooLong, GenerationStream, SamplingParams
from engine.backends.remote import RemoteGenerationError
from moderation.flags import review_item_create
from moderation.holdback import OutputGate
from moderation.pipeline import Verdict, moderate, moderate_many
from moderation.responses import template_response_for
from registry.serving import ModelUnavailable, version_backend
from usage.services import usage_record

from . import context, dispatch, events, runtime
from .models import Message, MessageStatus
from .selectors import branch_ending_at, model_context
from .services import conversation_title_withdraw
from .signals import user_message_accepted

logger = logging.getLogger(__name__)

_SAVE_EVERY_SECONDS = 1.0


def _replace_with_template(message: Message, *, verdict: Verdict, direction: str, flagged_text: str) -> None:
    message.content = template_response_for(category=verdict.top_category())
    message.status = MessageStatus.MODERATED
    message.moderation = verdict.as_dict()
    message.finished_at = timezone.now()
    message.save(update_fields=["content", "status", "moderation", "finished_at"])
    review_item_create(message=message, direction=direction, text=flagged_text, verdict=verdict)


@retry_if_locked
def user_message_moderate(*, message_id: int) -> None:
    """Input moderation of everything the model will read with this message
    that it did not write here, in one batch: the message, the system
    prompt, and the turns a client supplied above it that have no verdict
    yet (chat.context). Anything flagged refuses the message: its answers
    become the template of the first flagged text's category (the
    message's own, else the system prompt's, else the earliest turn's),
    that text goes to the review queue, and the model is never called."""
    message = Message.objects.select_related("conversation").filter(pk=message_id, status=MessageStatus.PENDING).first()
    if message is None:
        return
    system_prompt = message.conversation.system_prompt
    above = branch_ending_at(message.parent_id, turns=settings.CHAT_MAX_TURNS)
    client_turns = [turn for turn in above if context.awaits_moderation(turn)]
    texts = [message.content, *([system_prompt] if system_prompt.strip() else []), *(t.content for t in client_turns)]
    verdicts = moderate_many(texts, "user")
    refusal = next(((verdict, text) for verdict, text in zip(verdicts, texts, strict=True) if verdict.flagged), None)
    logger.info("Message %s %s by input moderation", message.pk, "flagged" if refusal else "accepted")
    with transaction.atomic():
        for turn, verdict in zip(client_turns, verdicts[len(texts) - len(client_turns) :], strict=True):
            turn.moderation = {**verdict.as_dict(), **context.client_turn_moderation()}
            if verdict.flagged and turn.role == Message.Role.USER:
                turn.status = MessageStatus.FLAGGED
        Message.objects.bulk_update(client_turns, ["moderation", "status"])
        message.moderation = {
            **verdicts[0].as_dict(),
            "context": {"system_prompt": context.system_prompt_fingerprint(system_prompt)},
        }
        message.status = MessageStatus.FLAGGED if refusal else MessageStatus.ACCEPTED
        message.save(update_fields=["moderation", "status"])
        if verdicts[0].flagged:
            conversation_title_withdraw(message=message)
        answers = list(message.children.filter(status=MessageStatus.QUEUED))
        for answer in answers:
            if refusal:
                verdict, flagged_text = refusal
                _replace_with_template(answer, verdict=verdict, direction="input", flagged_text=flagged_text)
            events.send_on_commit(message.conversation_id, events.message_event(answer))
        events.send_on_commit(message.conversation_id, events.message_event(message))
    if not refusal:
        for answer in answers:
            dispatch.generation_dispatch(answer.pk)
        user_message_accepted.send(sender=Message, message=message)


def _system_prompt_refusal(answer: Message) -> Verdict | None:
    """The flagging verdict on the conversation's system prompt, when it
    changed after its question passed input moderation (saved after the
    message was sent, or before a regeneration) and is judged now, here,
    with the input layers; None when it passed, then or now."""
    system_prompt = answer.conversation.system_prompt
    if not system_prompt.strip():
        return None
    question = Message.objects.get(pk=answer.parent_id)
    if context.passed_with_system_prompt(question, system_prompt):
        return None
    verdict = moderate(system_prompt, "user")
    if verdict.flagged:
        return verdict
    question.moderation = {
        **(question.moderation or {}),
        "context": {"system_prompt": context.system_prompt_fingerprint(system_prompt)},
    }
    question.save(update_fields=["moderation"])
    return None


class _DeltaSender:
    """Coalesces deltas for the channel layer (one message per tick rather
    than one per token) and saves the shown text every second, so a reload
    or a dead worker keeps what the user already saw."""

    def __init__(self, message: Message, start: str):
        self.message = message
        self.start = start
        self.sent_chars = len(start)
        self.buffer = ""
        self.last_flush = 0.0
        self.last_save = time.perf_counter()
        self.first_shown_at: float | None = None
        self.said_held = False

    def held(self) -> None:
        """Says once, before any text shows, that the model is writing and
        output moderation holds its text: a delta without text, so the page
        can say "checking" rather than "thinking"."""
        if self.said_held or self.first_shown_at is not None:
            return
        self.said_held = True
        events.send_now(
            self.message.conversation_id,
            {"type": "chat.delta", "message_id": self.message.pk, "offset": self.sent_chars, "text": ""},
        )

    def add(self, text: str, shown: str) -> None:
        if not text:
            return
        if self.first_shown_at is None:
            self.first_shown_at = time.perf_counter()
        self.buffer += text
        now = time.perf_counter()
        if now - self.last_flush >= settings.GENERATION_COALESCE_SECONDS:
            self.flush()
        if now - self.last_save >= _SAVE_EVERY_SECONDS:
            streaming = Message.objects.filter(pk=self.message.pk, status=MessageStatus.STREAMING)
            streaming.update(content=self.start + shown)
            self.last_save = now

    def flush(self) -> None:
        if not self.buffer:
            return
        events.send_now(
            self.message.conversation_id,
            {"type": "chat.delta", "message_id": self.message.pk, "offset": self.sent_chars, "text": self.buffer},
        )
        self.sent_chars += len(self.buffer)
        self.buffer = ""
        self.last_flush = time.perf_counter()


def answer_generate(*, message_id: int) -> None:
    """Streams the answer to the conversation's group and stores it.

    Claims the row with a conditional update (queued -> streaming), so a
    task delivered twice or an answer stopped before it started is skipped.
    The tokens the model read and wrote are charged to the conversation's
    owner however the answer ends, even when its conversation was deleted
    while it streamed.
    """
    claimed = Message.objects.filter(pk=message_id, status=MessageStatus.QUEUED).update(
        status=MessageStatus.STREAMING, started_at=timezone.now()
    )
    if not claimed:
        return
    message = Message.objects.select_related("conversation").get(pk=message_id)
    streams: list[GenerationStream] = []
    with runtime.Heartbeat(message_id):
        try:
            _stream_answer(message, streams)
        except Exception as exc:  # the answer must end in a final state, whatever broke
            if isinstance(exc, (ContextTooLong, RemoteGenerationError, ModelUnavailable)):
                logger.warning("Generation failed for message %s: %s", message_id, exc)
                reason = str(exc)
            else:
                logger.exception("Generation failed for message %s", message_id)
                reason = "The model failed while answering. Try again."
            failed = Message.objects.filter(pk=message_id, status=MessageStatus.STREAMING).update(
                status=MessageStatus.FAILED, error=reason[:500], finished_at=timezone.now()
            )
            if failed:
                message.refresh_from_db()
                events.send_now(message.conversation_id, events.message_event(message))
        finally:
            runtime.clear_cancel(message_id)
            for stream in streams:
                usage_record(
                    user_id=message.conversation.owner_id,
                    answers=1,
                    prompt_tokens=stream.prompt_tokens,
                    completion_tokens=stream.completion_tokens,
                )


def _stream_answer(message: Message, streams: list[GenerationStream]) -> None:
    """Writes the answer; the stream it starts is appended to `streams` at
    once, so its tokens are charged whatever happens after."""
    refusal = _system_prompt_refusal(message)
    if refusal is not None:
        _replace_with_template(
            message, verdict=refusal, direction="input", flagged_text=message.conversation.system_prompt
        )
        events.send_now(message.conversation_id, events.message_event(message))
        return
    backend, version = version_backend(message.model_version)
    message.model_version = version
    message.model_name = version.name if version else backend.model_path
    message.save(update_fields=["model_version", "model_name"])
    events.send_now(message.conversation_id, events.message_event(message))

    sampling = {**settings.GENERATION_DEFAULTS, **(message.sampling or {})}
    params = SamplingParams(
        temperature=float(sampling["temperature"]),
        top_p=float(sampling["top_p"]),
        max_new_tokens=int(sampling["max_new_tokens"]),
        stop=tuple(sampling.get("stop") or ()),
    )
    # A continuation (services.answer_continue) writes on after the text
    # the answer holds; the model reads that text as its turn so far.
    start = message.content
    gate = OutputGate(settings.MODERATION_HOLDBACK_CHARS)
    sender = _DeltaSender(message, start)
    cancelled = runtime.CancelWatch(message.pk)
    stream = backend.stream(model_context(message), params, should_stop=lambda: gate.verdict is not None or cancelled())
    streams.append(stream)
    for delta in stream:
        shown = gate.feed(clean_text(delta))
        if not shown and gate.pending:
            sender.held()
        sender.add(shown, gate.released)
        if gate.verdict is not None:
            break
    if gate.verdict is None:
        sender.add(gate.finish(), gate.released)
    sender.flush()
    generation_record(
        completion_tokens=stream.completion_tokens,
        ttft_seconds=stream.ttft_seconds,
        tokens_per_second=stream.tokens_per_second,
    )

    if not Message.objects.filter(pk=message.pk, status=MessageStatus.STREAMING).exists():
        return  # reaped or deleted meanwhile; what was saved stands
    message.prompt_tokens = stream.prompt_tokens
    message.completion_tokens = (message.completion_tokens or 0) + stream.completion_tokens
    message.ttft_ms = None if stream.ttft_seconds is None else stream.ttft_seconds * 1000
    message.tokens_per_second = stream.tokens_per_second
    message.finished_at = timezone.now()
    figures = ["prompt_tokens", "completion_tokens", "ttft_ms", "tokens_per_second", "finished_at"]
    if gate.verdict is not None:
        events.send_now(message.conversation_id, {"type": "chat.retract", "message_id": message.pk})
        with transaction.atomic():
            message.save(update_fields=figures)
            _replace_with_template(
                message, verdict=gate.verdict, direction="output", flagged_text=gate.released + gate.pending
            )
    else:
        message.content = start + gate.released
        message.moderation = gate.final_verdict.as_dict() if gate.final_verdict else None
        message.status = MessageStatus.STOPPED if stream.finish_reason == "cancelled" else MessageStatus.COMPLETE
        message.finish_reason = stream.finish_reason
        message.save(update_fields=[*figures, "content", "moderation", "status", "finish_reason"])
    logger.info(
        "Answer %s %s: %s tokens, ttft %.0f ms, %.1f tok/s, moderation %.1f ms",
        message.pk,
        message.status,
        message.completion_tokens,
        message.ttft_ms or 0,
        message.tokens_per_second or 0,
        gate.moderation_seconds * 1000,
    )
    events.send_now(message.conversation_id, events.message_event(message))
