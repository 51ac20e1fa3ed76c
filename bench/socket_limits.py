"""What one hostile account costs a web process through its WebSockets,
before and after issue 15 item 3 (core/user_sockets.py), in one run:
"before" is the same code with the limits lifted (no socket cap, a frame
bucket that never empties), "after" the defaults.

- flood: one socket sends FRAMES `subscribe` frames for its own
  conversation (each is a database query) as fast as it can; until issue
  15 every one was answered.
- sockets: one account opens SOCKETS sockets. Each handshake reads the
  session and the user before any check, so refusing costs about what
  admitting does; what the cap bounds is what the held sockets may then
  do: at most WEBSOCKET_MAX_PER_USER x WEBSOCKET_FRAMES_PER_SECOND frames
  a second per account, each at most a query or two.
- overhead: what the cap costs an ordinary handshake: the lease script's
  round trip beside the whole handshake's time.

CPU seconds are this process's (the real ASGI application runs in it,
driven by Channels' WebsocketCommunicator, on SQLite and a redis-server of
its own), client included.

    .venv/bin/python bench/socket_limits.py [--frames 2000] [--sockets 200] [--out bench/results/socket_limits.json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")

from bench.load import start_redis  # noqa: E402
from bench.report import report_write  # noqa: E402

LIFTED = {"WEBSOCKET_MAX_PER_USER": 0, "WEBSOCKET_FRAMES_PER_SECOND": 1e9, "WEBSOCKET_FRAME_BURST": 10**9}


class QueryCounter:
    """SQL statements run in any thread while counting."""

    def __init__(self):
        from django.db.backends.utils import CursorWrapper

        self.count = 0
        execute = CursorWrapper.execute
        counter = self

        def counted(self, sql, params=None):
            counter.count += 1
            return execute(self, sql, params)

        CursorWrapper.execute = counted


async def open_socket(cookie: str):
    from channels.testing import WebsocketCommunicator

    from chatsite.asgi import application

    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost"), (b"cookie", f"sessionid={cookie}".encode())]
    communicator = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
    await communicator.connect(timeout=30)
    first = await communicator.receive_output(timeout=30)
    return communicator, first["type"] == "websocket.send"


def measured(queries: QueryCounter, run) -> dict:
    from asgiref.sync import async_to_sync

    before_sql, cpu, wall = queries.count, time.process_time(), time.perf_counter()
    figures = async_to_sync(run)()
    figures.update(
        cpu_seconds=round(time.process_time() - cpu, 3),
        wall_seconds=round(time.perf_counter() - wall, 3),
        sql_statements=queries.count - before_sql,
    )
    return figures


def flood(cookie: str, conversation_id: int, frames: int):
    async def run():
        import json

        communicator, _ = await open_socket(cookie)
        for _ in range(frames):
            await communicator.send_to(text_data=json.dumps({"type": "subscribe", "conversation": conversation_id}))
        answered, close = 0, None
        while answered < frames:
            output = await communicator.receive_output(timeout=60)
            if output["type"] == "websocket.close":
                close = output["code"]
                break
            answered += 1
        await communicator.disconnect()
        return {"frames_sent": frames, "frames_answered": answered, "close_code": close}

    return run


def sockets(cookie: str, count: int):
    async def run():
        held = []
        for _ in range(count):
            communicator, admitted = await open_socket(cookie)
            if admitted:
                held.append(communicator)
            else:  # a server ends the refused socket at once; here the client says it is gone
                await communicator.disconnect()
        for communicator in held:
            await communicator.disconnect()
        return {"sockets_tried": count, "sockets_admitted": len(held)}

    return run


def overhead(cookie: str, user_id: int, rounds: int):
    async def run():
        from channels.layers import get_channel_layer

        from core.user_sockets import _LEASE_SCRIPT

        handshakes, leases = [], []
        for _ in range(rounds):
            started = time.perf_counter()
            communicator, _ = await open_socket(cookie)
            handshakes.append(time.perf_counter() - started)
            await communicator.disconnect()
        layer = get_channel_layer()
        key = f"{layer.prefix}:sockets:{user_id}"
        redis = layer.connection(layer.consistent_hash(key))
        for i in range(rounds):
            started = time.perf_counter()
            await redis.eval(_LEASE_SCRIPT, 1, key, f"bench-{i}", 30_000, 10**6)
            leases.append(time.perf_counter() - started)
        await redis.delete(key)
        handshake_ms, lease_ms = statistics.median(handshakes) * 1000, statistics.median(leases) * 1000
        return {
            "handshake_p50_ms": round(handshake_ms, 3),
            "lease_script_p50_ms": round(lease_ms, 3),
            "lease_share_of_handshake": round(lease_ms / handshake_ms, 4),
        }

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--sockets", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=50, help="handshakes timed for the overhead")
    parser.add_argument("--out", default=str(ROOT / "bench/results/socket_limits.json"))
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-sockets-"))
    redis, redis_url = start_redis(workdir)
    os.environ.update(
        DATA_DIR=str(workdir),
        DATABASE_URL=f"sqlite:///{workdir / 'bench.sqlite3'}",
        REDIS_URL=redis_url,
        CHANNEL_LAYER_PREFIX="bench-sockets",
    )
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.test import Client

        from accounts.models import User
        from chat.models import Conversation

        call_command("migrate", "--noinput", verbosity=0)
        user = User.objects.create_user(username="hostile", password="a-Strong-pass-123")
        conversation = Conversation.objects.create(owner=user)
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        defaults = {name: getattr(settings, name) for name in LIFTED}
        queries = QueryCounter()

        report = {"settings": defaults, "frames": args.frames, "sockets": args.sockets}
        for name, values in (("before", LIFTED), ("after", defaults)):
            for setting, value in values.items():
                setattr(settings, setting, value)
            report[name] = {
                "flood": measured(queries, flood(cookie, conversation.pk, args.frames)),
                "sockets": measured(queries, sockets(cookie, args.sockets)),
            }
        report["overhead"] = measured(queries, overhead(cookie, user.pk, args.rounds))
        for scenario in ("flood", "sockets"):
            before, after = report["before"][scenario], report["after"][scenario]
            report[f"{scenario}_cpu_ratio_after_to_before"] = round(after["cpu_seconds"] / before["cpu_seconds"], 4)
            report[f"{scenario}_sql_ratio_after_to_before"] = round(
                after["sql_statements"] / max(1, before["sql_statements"]), 4
            )
        report_write(report, args.out)
    finally:
        redis.terminate()


if __name__ == "__main__":
    main()
