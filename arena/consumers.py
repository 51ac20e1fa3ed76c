"""The arena WebSocket: starts rounds and relays both answers as they stream.

Client frames (JSON objects):
  {"type": "start", "request_id": str, "content": str, "trial_version": id|null}
  {"type": "watch", "match": id}      (a round started earlier, after a reload)
  {"type": "stop", "match": id}
  {"type": "ping"}
Server frames: ready, started, watching, message, delta, retract, error,
pong. Message frames never carry the model's name: the match's versions
come with the vote's answer. A signed-out account is closed with 4401
after the handshake, one not let into the arena with 4403.
"""
import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.access import can_chat, can_use_arena
from chat import services as chat_services
from chat.errors import ChatError
from chat.events import conversation_group
from registry.models import ModelVersion

from . import selectors, services
from .access import access_match_by_id, can_run_trials

_MAX_FRAME_CHARS_SLACK = 4096


def _optional_id(value, name: str):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ChatError("invalid_request", f"'{name}' must be a number or null.")
    return value


class ArenaConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.user = self.scope.get("user")
        self.conversation_id = None
        await self.accept()
        if self.user is None or not await database_sync_to_async(can_chat)(self.user):
            await self.close(code=4401)
            return
        if not await database_sync_to_async(can_use_arena)(self.user):
            await self.close(code=4403)
            return
        await self.send_json({"type": "ready", "user": self.user.username})

    async def disconnect(self, code):
        if getattr(self, "conversation_id", None):
            await self.channel_layer.group_discard(conversation_group(self.conversation_id), self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if text_data is None or len(text_data) > settings.CHAT_MAX_MESSAGE_CHARS * 2 + _MAX_FRAME_CHARS_SLACK:
            await self._error("invalid_request", "Frames must be JSON text within the message size limit.")
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
            "start": self.on_start,
            "watch": self.on_watch,
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
            await self._error("not_found", "No such match.", request_id)
        except PermissionDenied:
            await self._error("forbidden", "You may not do that.", request_id)

    async def _error(self, code: str, message: str, request_id: str | None = None):
        await self.send_json({"type": "error", "code": code, "message": message, "request_id": request_id})

    async def _watch(self, conversation_id: int):
        if self.conversation_id == conversation_id:
            return
        if self.conversation_id:
            await self.channel_layer.group_discard(conversation_group(self.conversation_id), self.channel_name)
        self.conversation_id = conversation_id
        await self.channel_layer.group_add(conversation_group(conversation_id), self.channel_name)

    # --- client frames --------------------------------------------------

    async def on_ping(self, content, request_id):
        await self.send_json({"type": "pong", "request_id": request_id})

    async def on_start(self, content, request_id):
        text = content.get("content")
        if not isinstance(text, str):
            raise ChatError("invalid_request", "'content' must be text.")
        trial_id = _optional_id(content.get("trial_version"), "trial_version")

        @database_sync_to_async
        def trial_version():
            if trial_id is None:
                return None
            if not can_run_trials(self.user):
                raise PermissionDenied
            version = ModelVersion.objects.filter(pk=trial_id).first()
            if version is None:
                raise ChatError("invalid_version", "No such model version.")
            return version

        @database_sync_to_async
        def open_conversation():
            return chat_services.conversation_create(owner=self.user)

        @database_sync_to_async
        def start(conversation, version):
            try:
                match = services.match_start(
                    user=self.user, conversation=conversation, content=text, trial_version=version
                )
            except (ChatError, Http404):
                chat_services.conversation_delete(conversation=conversation)
                raise
            return selectors.match_to_dict(match)

        version = await trial_version()
        # Join the group before the messages are stored, so no delta is missed.
        conversation = await open_conversation()
        await self._watch(conversation.pk)
        match = await start(conversation, version)
        await self.send_json({"type": "started", "request_id": request_id, "match": match})

    async def on_watch(self, content, request_id):
        match_id = _optional_id(content.get("match"), "match")
        match = await database_sync_to_async(access_match_by_id)(self.user, match_id)
        await self._watch(match.conversation_id)

        @database_sync_to_async
        def current():
            # An answer whose worker died is marked interrupted, so the round can end.
            chat_services.messages_reap_interrupted(conversation_id=match.conversation_id)
            return selectors.match_to_dict(access_match_by_id(self.user, match.pk))

        data = await current()
        await self.send_json({"type": "watching", "request_id": request_id, "match": data})

    async def on_stop(self, content, request_id):
        match_id = _optional_id(content.get("match"), "match")
        match = await database_sync_to_async(access_match_by_id)(self.user, match_id)
        await database_sync_to_async(services.match_stop)(match=match)

    # --- channel-layer events ------------------------------------------

    async def chat_message(self, event):
        message = {k: v for k, v in event["message"].items() if k != "model"}
        await self.send_json({"type": "message", "message": message})

    async def chat_delta(self, event):
        await self.send_json(
            {"type": "delta", "message_id": event["message_id"], "offset": event["offset"], "text": event["text"]}
        )

    async def chat_retract(self, event):
        await self.send_json({"type": "retract", "message_id": event["message_id"]})
