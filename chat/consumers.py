"""The chat WebSocket: authorizes, validates, calls a service, relays events.

Client frames (JSON objects):
  {"type": "subscribe", "conversation": id}
  {"type": "send", "request_id": str, "conversation": id|null, "parent": id|null,
   "content": str, "settings": {...}, "model": version id|null (a new chat's pick)}
  {"type": "regenerate", "request_id": str, "message": answer_id}
  {"type": "continue", "request_id": str, "message": answer_id}
  {"type": "stop", "message": answer_id}
  {"type": "ping"}
Server frames: ready (first, once the user is allowed), subscribed, sent,
stopping, message, delta, retract, report (the state of the user's report
on an answer, in any conversation), error, pong. Every client frame gets one
answer (subscribed, sent, stopping, pong or error); the answer's own
message frames follow as it is written. A user who may not chat is closed
with code 4401 right after the handshake.
"""

import logging

from django.http import Http404

from accounts.access import can_chat
from core.db import database_sync_to_async
from core.errors import UserError
from core.frames import optional_id

from . import services
from .access import access_conversation_by_id, access_message_by_id
from .events import chat_user_group
from .frames import ConversationFrameConsumer
from .model_choice import chat_model_clean
from .params import clean_conversation_settings
from .presets import chat_defaults_values
from .serializers import message_to_dict

logger = logging.getLogger(__name__)


class ChatConsumer(ConversationFrameConsumer):
    frame_handlers = {
        "subscribe": "on_subscribe",
        "send": "on_send",
        "regenerate": "on_regenerate",
        "continue": "on_continue",
        "stop": "on_stop",
        "ping": "on_ping",
    }
    not_found_message = "No such conversation or message."

    def refusal_code(self):
        return None if self.user is not None and can_chat(self.user) else 4401

    async def admit(self, user) -> bool:
        """Also listens to the account's chat group: the states of its
        reports (events.report_state_send_on_commit), whichever
        conversation the page shows."""
        if not await super().admit(user):
            return False
        await self.channel_layer.group_add(chat_user_group(user.pk), self.channel_name)
        return True

    def rejoin_groups(self) -> list[str]:
        return [*super().rejoin_groups(), chat_user_group(self.admitted_user_id)]

    async def disconnect(self, code):
        await super().disconnect(code)
        if self.admitted_user_id is not None:
            await self.channel_layer.group_discard(chat_user_group(self.admitted_user_id), self.channel_name)

    # --- client frames --------------------------------------------------

    async def on_subscribe(self, content, request_id):
        conversation_id = optional_id(content.get("conversation"), "conversation")
        conversation = await database_sync_to_async(access_conversation_by_id)(self.user, conversation_id)
        await self._watch(conversation.pk)
        await self.send_json({"type": "subscribed", "conversation": conversation.pk, "request_id": request_id})

    async def on_send(self, content, request_id):
        text = content.get("content")
        if not isinstance(text, str):
            raise UserError("invalid_request", "'content' must be text.")
        conversation_id = optional_id(content.get("conversation"), "conversation")
        parent_id = optional_id(content.get("parent"), "parent")
        settings_values = clean_conversation_settings(content.get("settings") or {})

        @database_sync_to_async
        def open_conversation():
            if conversation_id:
                return access_conversation_by_id(self.user, conversation_id), False
            # A new chat starts from the user's defaults; what the frame sets overrides them.
            values = {**chat_defaults_values(user=self.user), **settings_values}
            values["model_version"] = chat_model_clean(content.get("model"))
            return services.conversation_create(owner=self.user, settings_values=values), True

        @database_sync_to_async
        def send(conversation, created):
            parent = access_message_by_id(self.user, parent_id) if parent_id else None
            try:
                conversation, user_message, answer = services.message_send(
                    user=self.user,
                    conversation=conversation,
                    parent=parent,
                    content=text,
                    settings_values=None if created else settings_values,
                )
            except (UserError, Http404):
                if created:
                    services.conversation_delete(conversation=conversation)
                raise
            logger.info("User %s sent message %s; answer %s queued", self.user.pk, user_message.pk, answer.pk)
            return {
                "type": "sent",
                "request_id": request_id,
                "conversation": conversation.pk,
                "title": conversation.title,
                "user_message": message_to_dict(user_message),
                "answer": message_to_dict(answer),
            }

        # Join the group before the message is stored, so no event of this exchange is missed.
        conversation, created = await open_conversation()
        await self._watch(conversation.pk)
        await self.send_json(await send(conversation, created))

    async def on_regenerate(self, content, request_id):
        message_id = optional_id(content.get("message"), "message")
        message = await database_sync_to_async(access_message_by_id)(self.user, message_id)
        await self._watch(message.conversation_id)
        answer = await database_sync_to_async(
            lambda: message_to_dict(services.answer_regenerate(user=self.user, message=message))
        )()
        await self.send_json(
            {"type": "sent", "request_id": request_id, "conversation": message.conversation_id, "answer": answer}
        )

    async def on_continue(self, content, request_id):
        message_id = optional_id(content.get("message"), "message")
        message = await database_sync_to_async(access_message_by_id)(self.user, message_id)
        await self._watch(message.conversation_id)
        answer = await database_sync_to_async(
            lambda: message_to_dict(services.answer_continue(user=self.user, message=message))
        )()
        await self.send_json(
            {"type": "sent", "request_id": request_id, "conversation": message.conversation_id, "answer": answer}
        )

    async def on_stop(self, content, request_id):
        message_id = optional_id(content.get("message"), "message")
        message = await database_sync_to_async(access_message_by_id)(self.user, message_id)
        await database_sync_to_async(services.generation_stop)(message=message)
        await self.send_json({"type": "stopping", "message": message.pk, "request_id": request_id})

    # --- channel-layer events ------------------------------------------

    async def chat_message(self, event):
        await self.send_json({"type": "message", "message": event["message"]})

    async def chat_delta(self, event):
        await self.send_json(
            {"type": "delta", "message_id": event["message_id"], "offset": event["offset"], "text": event["text"]}
        )

    async def chat_retract(self, event):
        await self.send_json({"type": "retract", "message_id": event["message_id"]})

    async def chat_report(self, event):
        await self.send_json({"type": "report", "message_id": event["message_id"], "report": event["report"]})
