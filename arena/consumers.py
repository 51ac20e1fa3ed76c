"""The arena WebSocket: starts rounds and relays both answers as they stream.

Client frames (JSON objects):
  {"type": "start", "request_id": str, "content": str, "trial_version": id|null}
  {"type": "watch", "match": id}      (a round started earlier, after a reload)
  {"type": "stop", "match": id}
  {"type": "ping"}
Server frames: ready, started, watching, stopping, message, delta, retract,
error, pong; each client frame gets one answer. Message frames never carry
the model's name: the match's versions come with the vote's answer. A
signed-out account is closed with 4401 after the handshake, one not let
into the arena with 4403.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.access import can_chat, can_use_arena
from chat import services as chat_services
from chat.frames import ConversationFrameConsumer
from core.db import database_sync_to_async
from core.errors import UserError
from core.frames import optional_id
from registry.models import ModelVersion

from . import selectors, services
from .access import access_match_by_id, can_run_trials


class ArenaConsumer(ConversationFrameConsumer):
    frame_handlers = {
        "start": "on_start",
        "watch": "on_watch",
        "stop": "on_stop",
        "ping": "on_ping",
    }
    not_found_message = "No such match."

    def refusal_code(self):
        if self.user is None or not can_chat(self.user):
            return 4401
        return None if can_use_arena(self.user) else 4403

    # --- client frames --------------------------------------------------

    async def on_start(self, content, request_id):
        text = content.get("content")
        if not isinstance(text, str):
            raise UserError("invalid_request", "'content' must be text.")
        trial_id = optional_id(content.get("trial_version"), "trial_version")

        @database_sync_to_async
        def trial_version():
            if trial_id is None:
                return None
            if not can_run_trials(self.user):
                raise PermissionDenied
            version = ModelVersion.objects.filter(pk=trial_id).first()
            if version is None:
                raise UserError("invalid_version", "No such model version.")
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
            except (UserError, Http404):
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
        match_id = optional_id(content.get("match"), "match")
        match = await database_sync_to_async(access_match_by_id)(self.user, match_id)
        await self._watch(match.conversation_id)

        data = await database_sync_to_async(lambda: selectors.match_to_dict(access_match_by_id(self.user, match.pk)))()
        await self.send_json({"type": "watching", "request_id": request_id, "match": data})

    async def on_stop(self, content, request_id):
        match_id = optional_id(content.get("match"), "match")
        match = await database_sync_to_async(access_match_by_id)(self.user, match_id)
        await database_sync_to_async(services.match_stop)(match=match)
        await self.send_json({"type": "stopping", "match": match.pk, "request_id": request_id})

    # --- channel-layer events ------------------------------------------

    async def chat_message(self, event):
        # Answers stream before the vote; trials reveal on the match itself.
        await self.send_json({"type": "message", "message": selectors.answer_blind(event["message"])})

    async def chat_delta(self, event):
        await self.send_json(
            {"type": "delta", "message_id": event["message_id"], "offset": event["offset"], "text": event["text"]}
        )

    async def chat_retract(self, event):
        await self.send_json({"type": "retract", "message_id": event["message_id"]})
