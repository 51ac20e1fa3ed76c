"""The whole app on loopback for benchmarks: a Celery worker (moderation and
generation queues) and the web role (one process, or several behind HAProxy
as `make cluster` runs them) over a fresh SQLite database, and a WebSocket
client that asks for one answer and times it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.processes import start_asgi_server, start_balancer, start_celery_worker  # noqa: E402

FINAL = ("complete", "stopped", "failed", "moderated", "interrupted")


def manage(env: dict, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


@contextmanager
def running_stack(
    model_dir: str,
    workdir: Path,
    extra_env: dict | None = None,
    concurrency: int = 4,
    web_processes: int = 1,
    balancer: bool = False,
    queues_apart: bool = False,
):
    """Yields (base URL, session cookie of a signed-in user). With
    `balancer`, the URL is HAProxy's in front of `web_processes` web
    processes (scripts/haproxy.sh), else the one web process's. With
    `queues_apart`, moderation has a worker of its own (4 threads) beside
    the generation worker (`concurrency` threads), as `make cluster` and the
    Procfile run them; else one worker serves both queues."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        {
            "DATA_DIR": str(workdir),
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
            "CHAT_MODEL": model_dir,
            "CHANNEL_LAYER_PREFIX": "bench",
            "PYTHONUNBUFFERED": "1",
            "CHAT_RATE_LIMIT_PER_MINUTE": "100000",
            "CHAT_MAX_CONCURRENT_GENERATIONS": "1000",
            **(extra_env or {}),
        }
    )
    manage(env, "migrate", "--noinput", "-v", "0")
    cookie = (
        manage(
            env,
            "shell",
            "-c",
            (
                "from accounts.models import User; from django.test import Client\n"
                "u, _ = User.objects.get_or_create(username='bench')\n"
                "c = Client(); c.force_login(u); print(c.cookies['sessionid'].value)"
            ),
        )
        .strip()
        .splitlines()[-1]
    )
    # The worker and server run in sessions of their own: a bench stopped by
    # SIGTERM (`timeout`, say) must still stop them, or they live on, share
    # the Redis queues and take the next run's tasks.
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if queues_apart:
        workers = [
            start_celery_worker(env, workdir, queues="moderation", name="bench-moderation", concurrency=4),
            start_celery_worker(env, workdir, queues="generation", name="bench-generation", concurrency=concurrency),
        ]
    else:
        workers = [
            start_celery_worker(
                env, workdir, queues="moderation,generation", name="bench-worker", concurrency=concurrency
            )
        ]
    servers = []
    try:
        env["TRUSTED_PROXIES"] = "127.0.0.1"
        for i in range(web_processes):
            server, url = start_asgi_server(env, workdir, name=f"web{i + 1}")
            servers.append(server)
        if balancer:
            process, url = start_balancer([int(s.env["WEB_PORT"]) for s in servers], env, workdir)
            servers.append(process)
        yield url, cookie
    finally:
        for process in servers + workers:
            process.stop()
        signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


async def one_answer(url: str, cookie: str, prompt: str, max_new_tokens: int) -> dict:
    """Sends one message in a new conversation; returns the client's view:
    time to the first text shown and to the final message, and the token count."""
    import websockets

    headers = {"Cookie": f"sessionid={cookie}", "Origin": url}
    async with websockets.connect(
        url.replace("http://", "ws://") + "/ws/chat/", additional_headers=headers, max_size=None
    ) as ws:
        started = time.perf_counter()
        await ws.send(
            json.dumps(
                {
                    "type": "send",
                    "conversation": None,
                    "parent": None,
                    "content": prompt,
                    "settings": {"temperature": 0, "max_new_tokens": max_new_tokens},
                }
            )
        )
        first = answer_id = None
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == "error":
                raise RuntimeError(frame)
            if frame["type"] == "sent":
                answer_id = frame["answer"]["id"]
            elif frame["type"] == "delta" and frame["text"] and first is None:  # a delta without text: held
                first = time.perf_counter()
            elif (
                frame["type"] == "message"
                and frame["message"]["id"] == answer_id
                and frame["message"]["status"] in FINAL
            ):
                finished, message = time.perf_counter(), frame["message"]
                break
    if message["status"] != "complete":
        raise RuntimeError(f"answer ended {message['status']}: {message['error']}")
    return {
        "ttft_ms": (first - started) * 1000,
        "total_ms": (finished - started) * 1000,
        "tokens": message["completion_tokens"],
    }
