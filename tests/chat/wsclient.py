"""A WebSocket client for tests of the chat and arena sockets: the real ASGI
application, signed in with a real session cookie."""
import asyncio
import json

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from chatsite.asgi import application

from ..conftest import session_cookie


async def connect(user=None, path: str = "/ws/chat/") -> tuple[WebsocketCommunicator, bool, int | None]:
    """(communicator, allowed, close code when refused)."""
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
    if user is not None:
        cookie = await database_sync_to_async(session_cookie)(user)
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect(timeout=10)
    if connected:
        # An allowed socket hears `ready` first; a refused one is closed with 44xx.
        output = await communicator.receive_output(timeout=10)
        if output["type"] == "websocket.close":
            return communicator, False, output["code"]
        assert json.loads(output["text"])["type"] == "ready", output
    return communicator, connected, code


async def receive_until(communicator, predicate, timeout: float = 60.0) -> list[dict]:
    """Collects frames until one satisfies `predicate`; returns all of them."""
    frames = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise AssertionError(f"no matching frame in {timeout}s; got {[f.get('type') for f in frames]}: {frames[-3:]}")
        frame = await communicator.receive_json_from(timeout=remaining)
        frames.append(frame)
        if predicate(frame):
            return frames


async def send_message(communicator, content: str, *, conversation=None, parent=None, settings=None) -> dict:
    """Sends a chat message; returns the `sent` frame (an `error` frame fails the test)."""
    await communicator.send_json_to({
        "type": "send", "request_id": "r", "conversation": conversation, "parent": parent, "content": content,
        "settings": settings or {},
    })
    frame = (await receive_until(communicator, lambda f: f["type"] in ("sent", "error"), timeout=30))[-1]
    assert frame["type"] == "sent", frame
    return frame


def final_message(answer_id: int):
    final = {"complete", "stopped", "interrupted", "moderated", "failed"}
    return lambda f: f["type"] == "message" and f["message"]["id"] == answer_id and f["message"]["status"] in final
