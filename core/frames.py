"""What the chat and arena WebSockets share: JSON frames checked before any
handler sees them, errors as frames (never a dropped socket), and watching
one conversation's channel group while its answers stream. The cap on
sockets per account, the frame rate and the close when the account changes
are core/user_sockets.py's.

A socket that only watches costs no database query: an answer whose worker
died is found by one reaper in beat (chatsite/tasks.py), which tells the
conversation's group like any other change of state."""

import json
import logging

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import Http404

from . import request_ids
from .db import database_sync_to_async
from .errors import UserError
from .unavailable import UNAVAILABLE_MESSAGE
from .user_sockets import UserSockets
from .websockets import ClosesOnLayerFault, DispatchesOffTheSharedThread

# A frame may carry a message at the size limit, JSON-escaped, plus settings.
_MAX_FRAME_CHARS_SLACK = 16_384

logger = logging.getLogger(__name__)


def optional_id(value, name: str):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise UserError("invalid_request", f"'{name}' must be a number or null.")
    return value


class FrameConsumer(ClosesOnLayerFault, UserSockets, DispatchesOffTheSharedThread, AsyncJsonWebsocketConsumer):
    """Subclasses map frame types to coroutine methods in `frame_handlers`
    and say what a missing object is called in `not_found_message`."""

    frame_handlers: dict[str, str] = {}
    not_found_message = "Not found."

    async def connect(self):
        self.user = self.scope.get("user")
        # Accept, then close with a 44xx code: a refused handshake reaches
        # the browser only as 1006, and the page could not tell "log in
        # again" from a network fault.
        await self.accept()
        try:
            refusal = await database_sync_to_async(self.refusal_code)()
        except DatabaseError:
            # 4503: the page says "briefly unavailable" and reconnects.
            logger.warning("WebSocket refused: the database is unavailable", exc_info=True)
            await self.close(code=4503)
            return
        if refusal:
            await self.close(code=refusal)
            return
        if not await self.admit(self.user):
            return
        await self.send_json({"type": "ready", "user": self.user.username})

    def refusal_code(self) -> int | None:
        """The close code for a user who may not use this socket, else None."""
        raise NotImplementedError

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        """Each frame gets its own request id, which the tasks it enqueues carry."""
        if not await self.frame_allowed():
            return
        token = request_ids.bind(request_ids.new_id("ws-"))
        try:
            await self._receive_frame(text_data)
        finally:
            request_ids.reset(token)

    async def _receive_frame(self, text_data):
        if text_data is None:
            await self._error("invalid_request", "Frames must be JSON text.")
            return
        if len(text_data) > settings.CHAT_MAX_MESSAGE_CHARS * 2 + _MAX_FRAME_CHARS_SLACK:
            await self._error(
                "too_long", f"The message is too long; the limit is {settings.CHAT_MAX_MESSAGE_CHARS:,} characters."
            )
            return
        try:
            content = json.loads(text_data)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
            await self._error("invalid_json", "That frame is not valid JSON.")
            return
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self._error("invalid_request", "A frame must be an object with a 'type'.")
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        handler_name = self.frame_handlers.get(content["type"])
        request_id = content.get("request_id")
        request_id = request_id if isinstance(request_id, str) and len(request_id) <= 64 else None
        if handler_name is None:
            await self._error("unknown_type", f"Unknown frame type '{content['type'][:40]}'.", request_id)
            return
        try:
            await getattr(self, handler_name)(content, request_id)
        except UserError as exc:
            await self._error(exc.code, exc.message, request_id)
        except Http404:
            await self._error("not_found", self.not_found_message, request_id)
        except PermissionDenied:
            await self._error("forbidden", "You may not do that.", request_id)
        except DatabaseError:
            logger.warning("Frame %r failed: the database is unavailable", content["type"][:40], exc_info=True)
            await self._error("unavailable", UNAVAILABLE_MESSAGE, request_id)

    async def _error(self, code: str, message: str, request_id: str | None = None):
        await self.send_json({"type": "error", "code": code, "message": message, "request_id": request_id})

    async def on_ping(self, content, request_id):
        await self.send_json({"type": "pong", "request_id": request_id})
