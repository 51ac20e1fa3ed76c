"""A WebSocket client for tests of the chat, arena and job sockets: the real
ASGI application, with the headers a browser on the site sends (its origin,
and the session cookie when signed in)."""

import asyncio
import json

from asgiref.testing import ApplicationCommunicator
from channels import testing
from channels.db import database_sync_to_async

from chatsite.asgi import application

from ..conftest import session_cookie


class WebsocketCommunicator(testing.WebsocketCommunicator):
    """Channels' test client, except that database connections are given back
    as a server gives them back. Channels turns `close_old_connections` off,
    in every thread, while one of its communicators waits (it protects a
    TestCase's transaction); here each of the consumers' database threads
    (core.db) then kept a pooled connection after the test, and with the
    test's own threads the process's pool of 20 ran out late in a full run.
    The consumers' calls never run on the test's thread, so closing them is
    safe."""

    send_input = ApplicationCommunicator.send_input
    receive_output = ApplicationCommunicator.receive_output


def handshake_headers(cookie: str | None = None) -> list[tuple[bytes, bytes]]:
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
    if cookie is not None:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    return headers


async def cookie_of(user) -> str | None:
    """The session cookie of `user` signed in; None for no user (anonymous)."""
    return None if user is None else await database_sync_to_async(session_cookie)(user)


async def handshake(cookie: str | None, path: str = "/ws/chat/") -> tuple[WebsocketCommunicator, dict]:
    """(communicator, the first thing the server sent: a `websocket.send`, or
    the `websocket.close` with its code and reason). A refused socket is
    accepted and then closed with 44xx before any frame."""
    communicator = WebsocketCommunicator(application, path, headers=handshake_headers(cookie))
    connected, code = await communicator.connect(timeout=10)
    if not connected:
        return communicator, {"type": "websocket.close", "code": code}
    return communicator, await communicator.receive_output(timeout=10)


async def open_socket(cookie: str | None, path: str = "/ws/chat/") -> tuple[WebsocketCommunicator, dict | int]:
    """(communicator, the first frame) when the socket is let in, else
    (communicator, the close code)."""
    communicator, output = await handshake(cookie, path)
    if output["type"] == "websocket.close":
        return communicator, output["code"]
    return communicator, json.loads(output["text"])


async def connect(user=None, path: str = "/ws/chat/") -> tuple[WebsocketCommunicator, bool, int | None]:
    """A chat or arena socket: (communicator, allowed, close code when
    refused). An allowed socket hears `ready` first."""
    communicator, first = await open_socket(await cookie_of(user), path)
    if isinstance(first, int):
        return communicator, False, first
    assert first["type"] == "ready", first
    return communicator, True, None


async def connect_arena(user=None) -> tuple[WebsocketCommunicator, bool, int | None]:
    return await connect(user, "/ws/arena/")


async def connect_job(job_id: int, user=None) -> tuple[WebsocketCommunicator, dict | int]:
    """(communicator, the snapshot frame) when allowed, else (communicator,
    the close code)."""
    return await open_socket(await cookie_of(user), f"/ws/jobs/{job_id}/")


async def receive_until(communicator, predicate, timeout: float = 60.0) -> list[dict]:
    """Collects frames until one satisfies `predicate`; returns all of them."""
    frames = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise AssertionError(
                f"no matching frame in {timeout}s; got {[f.get('type') for f in frames]}: {frames[-3:]}"
            )
        frame = await communicator.receive_json_from(timeout=remaining)
        frames.append(frame)
        if predicate(frame):
            return frames


async def send_message(communicator, content: str, *, conversation=None, parent=None, settings=None) -> dict:
    """Sends a chat message; returns the `sent` frame (an `error` frame fails the test)."""
    await communicator.send_json_to(
        {
            "type": "send",
            "request_id": "r",
            "conversation": conversation,
            "parent": parent,
            "content": content,
            "settings": settings or {},
        }
    )
    frame = (await receive_until(communicator, lambda f: f["type"] in ("sent", "error"), timeout=30))[-1]
    assert frame["type"] == "sent", frame
    return frame


def final_message(answer_id: int):
    final = {"complete", "stopped", "interrupted", "moderated", "failed"}
    return lambda f: f["type"] == "message" and f["message"]["id"] == answer_id and f["message"]["status"] in final
