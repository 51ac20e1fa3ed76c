"""`/v1/chat/completions` and `/v1/models`, for OpenAI clients (async views:
Django closes their database connections; `sync_to_async` keeps the ORM
calls on its one thread).

A completion is a chat exchange like the browser's: the same services
store it, moderate it and rate-limit it; the generation worker streams it
to the conversation's group, and this view relays that stream as the
OpenAI wire format (server-sent events when `stream` is true).
"""

import asyncio
import json
import time
import uuid

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.http import JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from chat import runtime
from chat import services as chat_services
from chat.events import conversation_group
from chat.models import FINAL_ASSISTANT_STATUSES, MessageStatus
from core.errors import UserError

from .requests import ApiError, parse_completion_request
from .selectors import served_model_names
from .services import api_key_authenticate, completion_start

_MAX_BODY = 1024 * 1024
_STATUS_OF_CHAT_ERROR = {"rate_limited": 429, "too_many_generations": 429, "quota_exceeded": 429}


def _error(exc: ApiError) -> JsonResponse:
    return JsonResponse(exc.body(), status=exc.status)


async def _authenticate(request):
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        raise ApiError(
            "Missing API key: send `Authorization: Bearer <key>`.",
            status=401,
            kind="authentication_error",
            code="invalid_api_key",
        )
    user = await sync_to_async(api_key_authenticate)(raw_key=header[7:].strip())
    if user is None:
        raise ApiError("Invalid or revoked API key.", status=401, kind="authentication_error", code="invalid_api_key")
    return user


async def models_view(request):
    try:
        await _authenticate(request)
    except ApiError as exc:
        return _error(exc)
    names = await sync_to_async(served_model_names)()
    now = int(time.time())
    return JsonResponse(
        {
            "object": "list",
            "data": [{"id": name, "object": "model", "created": now, "owned_by": "chatsite"} for name in names],
        }
    )


class _Exchange:
    """Follows one answer on the channel layer until it is final."""

    def __init__(self):
        self.layer = get_channel_layer()
        self.channel = None
        self.group = None
        self.answer_id = None

    async def open(self) -> None:
        self.channel = await self.layer.new_channel()

    def join(self, conversation) -> None:
        """Called from the thread storing the exchange, before it commits."""
        self.group = conversation_group(conversation.pk)
        async_to_sync(self.layer.group_add)(self.group, self.channel)

    async def close(self) -> None:
        if self.group is not None:
            await self.layer.group_discard(self.group, self.channel)

    async def events(self):
        """Yields ("delta", text), ("retract", None), then ("final", message)."""
        while True:
            # An answer whose worker died ends too: beat's reaper sends its
            # final state (chatsite/tasks.py).
            event = await self.layer.receive(self.channel)
            if event["type"] == "chat.delta" and event["message_id"] == self.answer_id:
                yield "delta", event["text"]
            elif event["type"] == "chat.retract" and event["message_id"] == self.answer_id:
                yield "retract", None
            elif event["type"] == "chat.message" and event["message"]["id"] == self.answer_id:
                if event["message"]["status"] in FINAL_ASSISTANT_STATUSES:
                    yield "final", event["message"]
                    return


def _finish_reason(message: dict) -> str:
    """OpenAI's name for why the answer ended: the engine's own reason, stored
    with the answer (a model that ends exactly at the limit stopped, not ran out)."""
    if message["status"] == MessageStatus.MODERATED:
        return "content_filter"
    if message["status"] == MessageStatus.COMPLETE and message["finish_reason"] == "length":
        return "length"
    return "stop"


def _usage(message: dict) -> dict:
    prompt, completion = message["prompt_tokens"] or 0, message["completion_tokens"] or 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


@csrf_exempt
async def chat_completions_view(request):
    """Authenticated by API key, not by cookie, so CSRF does not apply."""
    if request.method != "POST":
        return _error(ApiError("Use POST.", status=405))
    try:
        user = await _authenticate(request)
        if len(request.body) > _MAX_BODY:
            raise ApiError("The request body is too large.", status=413)
        try:
            body = json.loads(request.body)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
            raise ApiError("The request body is not valid JSON.") from None
        parsed = parse_completion_request(body)
        names = await sync_to_async(served_model_names)()
        if not names:
            raise ApiError("No model serves chat yet.", status=503, kind="server_error")
        if parsed.model and parsed.model not in names:
            raise ApiError(
                f"The model '{parsed.model}' is not served here; see /v1/models.",
                status=404,
                param="model",
                code="model_not_found",
            )
    except ApiError as exc:
        return _error(exc)

    exchange = _Exchange()
    await exchange.open()
    try:
        answer = await sync_to_async(completion_start)(user=user, request=parsed, on_stored=exchange.join)
    except UserError as exc:  # a limit refused it; nothing was stored
        await exchange.close()
        return _error(ApiError(exc.message, status=_STATUS_OF_CHAT_ERROR.get(exc.code, 400), code=exc.code))
    exchange.answer_id = answer.pk
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    model_name = parsed.model or names[0]

    async def finish():
        await exchange.close()
        if not parsed.store:
            await sync_to_async(chat_services.conversation_delete)(conversation=answer.conversation)

    if not parsed.stream:
        try:
            async for kind, value in exchange.events():
                if kind == "final":
                    message = value
        except asyncio.CancelledError:
            await sync_to_async(runtime.request_cancel)(answer.pk)
            raise
        await finish()
        return JsonResponse(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": model_name,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": message["content"]},
                        "finish_reason": _finish_reason(message),
                    }
                ],
                "usage": _usage(message),
            }
        )

    def chunk(delta: dict, finish_reason=None, usage=None) -> str:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model_name,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}] if usage is None else [],
        }
        if usage is not None:
            body["usage"] = usage
        return f"data: {json.dumps(body)}\n\n"

    async def sse():
        shown = ""
        try:
            yield chunk({"role": "assistant", "content": ""})
            async for kind, value in exchange.events():
                if kind == "delta":
                    shown += value
                    yield chunk({"content": value})
                elif kind == "final":
                    message = value
            if message["status"] == MessageStatus.MODERATED and not shown:
                yield chunk({"content": message["content"]})
            yield chunk({}, finish_reason=_finish_reason(message))
            if parsed.include_usage:
                yield chunk({}, usage=_usage(message))
            yield "data: [DONE]\n\n"
            await finish()
        except (asyncio.CancelledError, GeneratorExit):
            # The client went away: stop writing an answer nobody reads.
            await sync_to_async(runtime.request_cancel)(answer.pk)
            await exchange.close()
            raise

    response = StreamingHttpResponse(sse(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
