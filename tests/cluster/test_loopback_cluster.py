"""The loopback cluster, as `make cluster` runs it: two web processes
(scripts/serve.sh web) behind HAProxy (deploy/haproxy/site.cfg and the
backend scripts/haproxy.sh prints), PostgreSQL, Redis and the session's
Celery worker, all real processes. Clients go through the
balancer with a real WebSocket client, as a browser does.

The fault tests stop a web process under load, by SIGKILL and by SIGTERM,
and follow each client as the page does: reconnect (the balancer sends it
to the live process), subscribe to its conversation again and wait for the
answer's final state, which the worker keeps streaming through the channel
layer to whichever process the socket is now on."""

import asyncio
import http.client
import json
import re
import time
import urllib.parse
from pathlib import Path

import pytest
import websockets
from channels.db import database_sync_to_async

from chat.models import ACTIVE_STATUSES, Message
from core.redis_client import redis_client

from ..conftest import record_figures, session_cookie
from ..helpers.polling import eventually
from ..processes import start_asgi_server, start_balancer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

FINAL = {"complete", "stopped", "interrupted", "moderated", "failed"}
NORMAL_CLOSE, SERVICE_RESTART = 1000, 1012


class Cluster:
    def __init__(self, app_env: dict, log_dir: Path):
        self.env = dict(
            app_env,
            TRUSTED_PROXIES="127.0.0.1",
            CHAT_MAX_CONCURRENT_GENERATIONS="100",
            CHAT_RATE_LIMIT_PER_MINUTE="1000",
        )
        self.log_dir = log_dir
        self.webs = [start_asgi_server(self.env, log_dir, name=f"cluster-web{i}")[0] for i in (1, 2)]
        self.web_ports = [int(web.env["WEB_PORT"]) for web in self.webs]
        self.balancer, self.url = start_balancer(self.web_ports, self.env, log_dir, name="cluster-haproxy")
        self.port = int(self.url.rsplit(":", 1)[1])
        self.wait_until_both_in_rotation()

    def wait_until_both_in_rotation(self, timeout: float = 30.0) -> None:
        """Every web process answers readiness, and HAProxy (checking every
        second, two passes to rise) has had time to see it."""
        eventually(
            lambda: all(_get(port, "/healthz/ready")[0] == 200 for port in self.web_ports),
            timeout=timeout,
            interval=0.2,
            what="every web process ready",
        )
        time.sleep(2.5)

    def stop(self) -> None:
        self.balancer.stop()
        for web in self.webs:
            web.stop()


@pytest.fixture(scope="module")
def cluster(app_env, process_log_dir, celery_worker):
    cluster = Cluster(app_env, process_log_dir)
    yield cluster
    cluster.stop()


def _get(port: int, path: str, source: str = "127.0.0.1", headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace"), response
    except OSError:
        return None, "", None
    finally:
        connection.close()


def _failed_sign_in(port: int, source: str, headers: dict | None = None) -> int:
    """A wrong password on the login page, from `source`; returns the status."""
    status, html, response = _get(port, "/accounts/login/", source, headers)
    assert status == 200
    csrf_cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie")).group(1)
    form_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": form_token, "username": "nobody", "password": "wrong"})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        connection.request(
            "POST",
            "/accounts/login/",
            body=body,
            headers={
                "Cookie": f"csrftoken={csrf_cookie}",
                "Content-Type": "application/x-www-form-urlencoded",
                **(headers or {}),
            },
        )
        return connection.getresponse().status
    finally:
        connection.close()


def _failures_recorded(address: str) -> int:
    return int(redis_client().get(f"accounts:login-failures:address:{address}") or 0)


def test_the_balancer_checks_readiness_and_serves_pages(cluster):
    status, body, _ = _get(cluster.port, "/healthz/ready")
    assert status == 200 and json.loads(body)["status"] == "ready"
    assert _get(cluster.port, "/accounts/login/")[0] == 200


def test_a_request_id_is_given_at_the_edge_and_kept_behind_it(cluster):
    """HAProxy gives each request an id (a client's own is replaced); the app
    logs under it and echoes it, and HAProxy's log line names it."""
    status, _, response = _get(cluster.port, "/healthz/ready", headers={"X-Request-ID": "chosen-by-the-client"})
    request_id = response.getheader("X-Request-ID")
    assert status == 200 and re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", request_id)
    eventually(
        lambda: request_id in cluster.balancer.output(),
        timeout=10,
        interval=0.2,
        what="HAProxy's log naming the request id",
    )


def test_the_sign_in_throttle_sees_the_client_behind_the_balancer(cluster):
    """Through HAProxy the client's own address is counted, and a forged
    X-Forwarded-For is dropped at the edge; straight to a web process from
    an address not in TRUSTED_PROXIES, the header is not believed."""
    redis_client().delete(*[f"accounts:login-failures:address:{a}" for a in ("127.0.0.5", "127.0.0.6", "203.0.113.9")])
    assert _failed_sign_in(cluster.port, "127.0.0.5", {"X-Forwarded-For": "203.0.113.9"}) == 200
    assert _failures_recorded("127.0.0.5") == 1
    assert _failed_sign_in(cluster.web_ports[0], "127.0.0.6", {"X-Forwarded-For": "203.0.113.9"}) == 200
    assert _failures_recorded("127.0.0.6") == 1
    assert _failures_recorded("203.0.113.9") == 0


class ChatClient:
    """What the chat page does with its socket: send once, then follow the
    answer to its final state, reconnecting (with the page's short backoff)
    and subscribing again whenever the socket closes."""

    def __init__(self, url: str, cookie: str, max_new_tokens: int):
        self.ws_url = url.replace("http://", "ws://") + "/ws/chat/"
        self.headers = {"Cookie": f"sessionid={cookie}", "Origin": url}
        self.max_new_tokens = max_new_tokens
        self.streaming = asyncio.Event()
        self.close_codes: list[int | None] = []
        self.reconnect_seconds: list[float] = []
        self.deltas_after_reconnect = 0
        self.answer_id = self.conversation_id = None
        self.final = None

    async def _connect(self):
        socket = await websockets.connect(self.ws_url, additional_headers=self.headers, open_timeout=10)
        assert json.loads(await socket.recv())["type"] == "ready"
        return socket

    async def run(self, timeout: float = 180.0) -> None:
        await asyncio.wait_for(self._run(), timeout)

    async def _run(self) -> None:
        socket = await self._connect()
        await socket.send(
            json.dumps(
                {
                    "type": "send",
                    "request_id": "1",
                    "conversation": None,
                    "parent": None,
                    "content": "Tell me a long story",
                    "settings": {"max_new_tokens": self.max_new_tokens},
                }
            )
        )
        reconnected = False
        while self.final is None:
            try:
                frame = json.loads(await socket.recv())
            except websockets.ConnectionClosed as closed:
                self.close_codes.append(closed.rcvd.code if closed.rcvd else None)
                socket = await self._reconnect()
                reconnected = True
                continue
            if frame["type"] == "sent":
                self.answer_id, self.conversation_id = frame["answer"]["id"], frame["conversation"]
            elif frame["type"] == "delta" and frame["message_id"] == self.answer_id:
                self.streaming.set()
                self.deltas_after_reconnect += reconnected
            elif (
                frame["type"] == "message"
                and frame["message"]["id"] == self.answer_id
                and frame["message"]["status"] in FINAL
            ):
                self.final = frame["message"]
        await socket.close()

    async def _reconnect(self):
        started = time.monotonic()
        for _ in range(100):
            try:
                socket = await self._connect()
                await socket.send(
                    json.dumps({"type": "subscribe", "request_id": "2", "conversation": self.conversation_id})
                )
                self.reconnect_seconds.append(time.monotonic() - started)
                return socket
            except (OSError, websockets.WebSocketException, AssertionError):
                await asyncio.sleep(0.2)
        raise AssertionError("no reconnect in 100 attempts")


async def _answers_survive_a_web_process_stopping(cluster, user, stop, clients: int = 4):
    """`clients` is the session worker's concurrency, so every answer is
    streaming when the process stops."""
    cookie = await database_sync_to_async(session_cookie)(user)
    chat_clients = [ChatClient(cluster.url, cookie, max_new_tokens=3000) for _ in range(clients)]
    runs = [asyncio.create_task(client.run()) for client in chat_clients]
    await asyncio.wait_for(asyncio.gather(*(client.streaming.wait() for client in chat_clients)), 120)
    stopped_at = time.monotonic()
    await asyncio.get_running_loop().run_in_executor(None, stop)
    await asyncio.gather(*runs)
    moved = [client for client in chat_clients if client.close_codes]
    assert moved, "the balancer spread the sockets over both processes"
    assert all(client.final["status"] == "complete" for client in chat_clients), [
        c.final["status"] for c in chat_clients
    ]
    assert any(client.deltas_after_reconnect for client in moved), "answers kept streaming to the new sockets"
    unfinished = await database_sync_to_async(lambda: Message.objects.filter(status__in=ACTIVE_STATUSES).count())()
    assert unfinished == 0
    return moved, {
        "clients": clients,
        "moved": len(moved),
        "reconnect_seconds_max": round(max(t for c in moved for t in c.reconnect_seconds), 2),
        "all_final_after_seconds": round(time.monotonic() - stopped_at, 2),
    }


@pytest.mark.faults
async def test_a_web_process_killed_under_load(cluster, user):
    """SIGKILL: its sockets drop (no close frame), the clients reconnect
    through the balancer to the other process and their answers finish there."""
    web = cluster.webs[0]
    moved, figures = await _answers_survive_a_web_process_stopping(cluster, user, web.kill)
    record_figures("cluster_web_killed", figures)
    await asyncio.get_running_loop().run_in_executor(None, web.restart)
    await asyncio.get_running_loop().run_in_executor(None, cluster.wait_until_both_in_rotation)


@pytest.mark.faults
async def test_a_web_process_stopped_drains_its_sockets(cluster, user):
    """SIGTERM: the process closes its sockets with 1012 (service restart),
    which the page reconnects on, and stops taking connections."""
    import signal

    web = cluster.webs[1]
    moved, figures = await _answers_survive_a_web_process_stopping(cluster, user, lambda: web.kill(signal.SIGTERM))
    assert all(client.close_codes[0] == SERVICE_RESTART for client in moved), [c.close_codes for c in moved]
    record_figures("cluster_web_drained", figures)
    await asyncio.get_running_loop().run_in_executor(None, web.restart)
    await asyncio.get_running_loop().run_in_executor(None, cluster.wait_until_both_in_rotation)
