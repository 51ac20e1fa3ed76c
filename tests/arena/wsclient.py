"""An arena WebSocket client for tests: the real ASGI application, signed in
with a real session cookie."""
import json

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from chatsite.asgi import application

from ..conftest import session_cookie


async def connect(user=None) -> tuple[WebsocketCommunicator, bool, int | None]:
    """(communicator, allowed, close code when refused)."""
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
    if user is not None:
        cookie = await database_sync_to_async(session_cookie)(user)
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    communicator = WebsocketCommunicator(application, "/ws/arena/", headers=headers)
    connected, code = await communicator.connect(timeout=10)
    if connected:
        output = await communicator.receive_output(timeout=10)
        if output["type"] == "websocket.close":
            return communicator, False, output["code"]
        assert json.loads(output["text"])["type"] == "ready", output
    return communicator, connected, code
