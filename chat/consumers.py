"""The chat WebSocket: authorizes, validates, calls a service, relays events.

Client frames (JSON objects):
  {"type": "subscribe", "conversation": id}
  {"type": "send", "request_id": str, "conversation": id|null, "parent": id|null,
   "content": str, "settings": {...}}
  {"type": "regenerate", "request_id": str, "message": answer_id}
  {"type": "stop", "message": answer_id}
  {"type": "ping"}
Server frames: ready (first, once the user is allowed), subscribed, sent,
message, delta, retract, error, pong. A user who may not chat is closed
with code 4401 right after the handshake.
"""
import asyncio
import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.http import Http404

from accounts.access import can_chat

from . import services
from .access import access_conversation_by_id, access_message_by_id
from .errors import ChatError
from .events import conversation_group
from .params import clean_conversation_settings
from .serializers import message_to_dict

# A frame may carry a message at the size limit, JSON-escaped, plus settings.
_MAX_FRAME_CHARS_SLACK = 16_384
_REAP_INTERVAL_SECONDS = 2.0


def _optional_id(value, name: str):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ChatError("invalid_request", f"'{name}' must be a number or null.")
    return value


class ChatConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.user = self.scope.get("user")
        self.conversation_id = None
        self.reaper = None
        # Accept, then close with 4401: a refused handshake reaches the
        # browser only as 1006, and the page could not tell "log in again"
        # from a network fault.
        await self.accept()
        if self.user is None or not await database_sync_to_async(can_chat)(self.user):
            await self.close(code=4401)
            return
        await self.send_json({"type": "ready", "user": self.user.username})

    async def disconnect(self, code):
        if getattr(self, "reaper", None):
            self.reaper.cancel()
        if getattr(self, "conversation_id", None):
            await self.channel_layer.group_discard(conversation_group(self.conversation_id), self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if text_data is None:
            await self._error("invalid_request", "Frames must be JSON text.")
            return
        if len(text_data) > settings.CHAT_MAX_MESSAGE_CHARS * 2 + _MAX_FRAME_CHARS_SLACK:
            await self._error("too_long", f"The message is too long; the limit is {settings.CHAT_MAX_MESSAGE_CHARS:,} characters.")
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self._error("invalid_json", "That frame is not valid JSON.")
            return
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self._error("invalid_request", "A frame must be an object with a 'type'.")
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        handler = {
            "subscribe": self.on_subscribe,
            "send": self.on_send,
            "regenerate": self.on_regenerate,
            "stop": self.on_stop,
            "ping": self.on_ping,
        }.get(content["type"])
        request_id = content.get("request_id")
        request_id = request_id if isinstance(request_id, str) and len(request_id) <= 64 else None
        if handler is None:
            await self._error("unknown_type", f"Unknown frame type '{content['type'][:40]}'.", request_id)
            return
        try:
            await handler(content, request_id)
        except ChatError as exc:
            await self._error(exc.code, exc.message, request_id)
        except Http404:
            await self._error("not_found", "No such conversation or message.", request_id)

    async def _error(self, code: str, message: str, request_id: str | None = None):
        await self.send_json({"type": "error", "code": code, "message": message, "request_id": request_id})

    async def _watch(self, conversation_id: int):
        if self.conversation_id == conversation_id:
            return
        if self.conversation_id:
            await self.channel_layer.group_discard(conversation_group(self.conversation_id), self.channel_name)
        self.conversation_id = conversation_id
        await self.channel_layer.group_add(conversation_group(conversation_id), self.channel_name)
        if self.reaper is None:
            self.reaper = asyncio.create_task(self._reap_loop())

    async def _reap_loop(self):
        """While the browser watches, answers whose worker died are marked
        interrupted within seconds, and the browser hears it."""
        while True:
            await asyncio.sleep(_REAP_INTERVAL_SECONDS)
            try:
                await database_sync_to_async(services.messages_reap_interrupted)(conversation_id=self.conversation_id)
            except Exception:  # a passing Redis or database fault: try on the next tick
                continue

    # --- client frames --------------------------------------------------

    async def on_ping(self, content, request_id):
        await self.send_json({"type": "pong", "request_id": request_id})

    async def on_subscribe(self, content, request_id):
        conversation_id = _optional_id(content.get("conversation"), "conversation")
        conversation = await database_sync_to_async(access_conversation_by_id)(self.user, conversation_id)
        await self._watch(conversation.pk)
        await self.send_json({"type": "subscribed", "conversation": conversation.pk, "request_id": request_id})

    async def on_send(self, content, request_id):
        text = content.get("content")
        if not isinstance(text, str):
            raise ChatError("invalid_request", "'content' must be text.")
        conversation_id = _optional_id(content.get("conversation"), "conversation")
        parent_id = _optional_id(content.get("parent"), "parent")
        settings_values = clean_conversation_settings(content.get("settings") or {})

        @database_sync_to_async
        def open_conversation():
            if conversation_id:
                return access_conversation_by_id(self.user, conversation_id), False
            return services.conversation_create(owner=self.user, settings_values=settings_values), True

        @database_sync_to_async
        def send(conversation, created):
            parent = access_message_by_id(self.user, parent_id) if parent_id else None
            try:
                return services.message_send(
                    user=self.user, conversation=conversation, parent=parent, content=text,
                    settings_values=None if created else settings_values,
                )
            except (ChatError, Http404):
                if created:
                    services.conversation_delete(conversation=conversation)
                raise

        # Join the group before the message is stored, so no event of this exchange is missed.
        conversation, created = await open_conversation()
        await self._watch(conversation.pk)
        conversation, user_message, answer = await send(conversation, created)
        await self.send_json(
            {
                "type": "sent",
                "request_id": request_id,
                "conversation": conversation.pk,
                "title": conversation.title,
                "user_message": await database_sync_to_async(message_to_dict)(user_message),
                "answer": await database_sync_to_async(message_to_dict)(answer),
            }
        )

    async def on_regenerate(self, content, request_id):
        message_id = _optional_id(content.get("message"), "message")
        message = await database_sync_to_async(access_message_by_id)(self.user, message_id)
        await self._watch(message.conversation_id)
        answer = await database_sync_to_async(services.answer_regenerate)(user=self.user, message=message)
        await self.send_json(
            {"type": "sent", "request_id": request_id, "conversation": message.conversation_id,
             "answer": await database_sync_to_async(message_to_dict)(answer)}
        )

    async def on_stop(self, content, request_id):
        message_id = _optional_id(content.get("message"), "message")
        message = await database_sync_to_async(access_message_by_id)(self.user, message_id)
        await database_sync_to_async(services.generation_stop)(message=message)

    # --- channel-layer events ------------------------------------------

    async def chat_message(self, event):
        await self.send_json({"type": "message", "message": event["message"]})

    async def chat_delta(self, event):
        await self.send_json(
            {"type": "delta", "message_id": event["message_id"], "offset": event["offset"], "text": event["text"]}
        )

    async def chat_retract(self, event):
        await self.send_json({"type": "retract", "message_id": event["message_id"]})
