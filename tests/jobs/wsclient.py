"""A job-page WebSocket client for tests: the real ASGI application, signed
in with a real session cookie."""
import json

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from chatsite.asgi import application

from ..conftest import session_cookie


async def connect_job(job_id: int, user=None) -> tuple[WebsocketCommunicator, dict | int]:
    """(communicator, the snapshot frame) when allowed, else (communicator,
    the close code)."""
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
    if user is not None:
        cookie = await database_sync_to_async(session_cookie)(user)
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    communicator = WebsocketCommunicator(application, f"/ws/jobs/{job_id}/", headers=headers)
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    output = await communicator.receive_output(timeout=10)
    if output["type"] == "websocket.close":
        return communicator, output["code"]
    return communicator, json.loads(output["text"])
