"""What every WebSocket shares when a service it needs fails: a channel
layer that loses Redis (a restart, a failover) ends the consumer, and the
browser is told to reconnect (close code 1012, "service restart"); a
database that cannot be reached while the handshake looks up the session's
user closes the socket with 4503 ("briefly unavailable"). Either way the
page reconnects, subscribes again and reloads what it shows from the
database, where nothing was lost; neither is an internal error."""

import logging

from channels.consumer import get_handler_name
from django.db import DatabaseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

SERVICE_RESTART = 1012
UNAVAILABLE = 4503


class ClosesOnLayerFault:
    """Mix into an AsyncConsumer subclass, before it."""

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        except (RedisConnectionError, RedisTimeoutError) as error:
            logger.warning(
                "WebSocket %s closed for a reconnect: the channel layer lost Redis (%s)", scope.get("path"), error
            )
            try:
                await send({"type": "websocket.close", "code": SERVICE_RESTART})
            except Exception:  # the client may be gone already; nothing is left to tell
                pass


class DispatchesOffTheSharedThread:
    """Mix into an AsyncConsumer subclass, before it, when every database
    call of the consumer goes through core.db.database_sync_to_async.

    Channels runs `close_old_connections` before it hands a consumer any
    message: each client frame, and each channel-layer event, every streamed
    delta included. It runs on the process's one thread-sensitive thread, so
    every event of every socket waited in one queue behind every other
    socket's. Our database calls run on their own threads and close their
    connections there, so nothing is left for that hop to close."""

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)


class DatabaseUnavailableGuard:
    """ASGI middleware around the WebSocket stack: the session and user
    lookup of Channels' auth middleware runs before any consumer, so its
    database error would end the handshake as an HTTP 500."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        accepted = False

        async def tracking_send(message):
            nonlocal accepted
            accepted = accepted or message["type"] == "websocket.accept"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except DatabaseError as error:
            logger.warning("WebSocket %s refused: the database is unavailable (%s)", scope.get("path"), error)
            if not accepted:
                await receive()  # the client's websocket.connect
                await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": UNAVAILABLE})
