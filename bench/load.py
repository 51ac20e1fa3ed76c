"""Load through the whole stack on loopback: N WebSocket clients (up to 500)
hold their connections and send messages at a set rate (open-loop Poisson)
for a fixed time, along two paths:

- template: every message carries a word an input rule flags, so the answer
  is the category's template (the web processes, Redis, the moderation worker, whose
  classifier layer still scores every message; no model call);
- model: benign messages pass the default moderation layers and the tiny
  random-init model writes a fixed-length answer (`--max-new-tokens`).

For each level: answers per second (first send to last answer) against the
rate offered, and p50/p99 latency per stage as the client sees it
(handshake to `ready`; from each send: the `sent` ack, stored; the user
message's final state, moderated; the first delta; the answer's final
state), with ratios against one client sending one message at a time in the
same run. Every stored message of the level is checked in the database
after a short drain, and again at the end of the run once the web tier and the
workers have worked off their queues: none may be left `pending`, `queued`
or `streaming` ("zero lost"); sends that were never stored (the socket
closed while the frame still waited in the web process) are counted apart.
To say what bounds a level that fails, the CPU of each process (psutil;
PostgreSQL's counts every database on the server), the web processes' open
files and PostgreSQL's sessions opened are sampled, both while the connected
clients sit idle and while they send, and a probe socket times ping/pong
(see `Probe`). After the client levels, the rate doubles at the largest
client count that passed (`--steps`) until a level fails.

The stack is one web process (`--web-processes 1`) or several behind HAProxy
(`--web-processes 2 --balancer`), as `make cluster` runs them. `--idle-clients
2000` first holds that many sockets open and idle, and measures what they
cost (CPU per process, database sessions and commits per second).

    .venv/bin/python bench/load.py [--clients 50,200,500] [--rate 0.1] [--duration 20]
        [--path template|model|both] [--steps 3] [--web-processes 1] [--balancer]
        [--idle-clients 0] [--out bench/results/load.json]

Starts its own redis-server on a free port and a fresh PostgreSQL database
(`--postgres`, default the local chatsite role; `--postgres ''` for SQLite).
The per-user chat limits (CHAT_RATE_LIMIT_PER_MINUTE,
CHAT_MAX_CONCURRENT_GENERATIONS) and socket limits (WEBSOCKET_MAX_PER_USER,
WEBSOCKET_FRAMES_PER_SECOND) are raised for the bench; clients share
`--users` accounts. Every phase is bounded in time: connections, answers,
the drain and the settling between levels each have a timeout, a level
stops at `--level-cap` seconds and no level starts past `--max-seconds`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.chat_concurrency import PROMPTS, fresh_postgres_database  # noqa: E402
from bench.report import report_write  # noqa: E402
from bench.stack import FINAL, running_stack  # noqa: E402
from tests.processes import free_port, port_open  # noqa: E402

MAX_CLIENTS = 500
MAX_IDLE_CLIENTS = 2000
USER_FINAL = ("accepted", "flagged")
ACTIVE = ("pending", "queued", "streaming")
# A made-up word that an admin rule flags, so the template path's text is
# otherwise as harmless as the model path's.
FLAG_WORD = "blorptang"
STAGES = ("connect", "sent_ack", "user_final", "first_delta", "answer_final")
DATABASE_NAME = "bench_load"
CONNECT_TIMEOUT = 30.0  # seconds for each of: the handshake, the `ready` frame, the `subscribed` frame


# --- processes -------------------------------------------------------------


def start_redis(workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(workdir),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while not port_open(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("redis-server did not start")
        time.sleep(0.1)
    return proc, f"redis://127.0.0.1:{port}/0"


def stack_processes(redis: subprocess.Popen) -> dict:
    """The stack's processes by role, found among this process's children."""
    import psutil

    found = {"redis": psutil.Process(redis.pid), "client": psutil.Process()}
    for process in psutil.process_iter(["name", "ppid"]):
        if process.info["name"] == "postgres" and process.info["ppid"] == 1:
            found["postgres"] = process  # the postmaster
    webs = 0
    for child in psutil.Process().children(recursive=True):
        cmdline = " ".join(child.cmdline())
        if "uvicorn" in cmdline:
            webs += 1
            found[f"web{webs}"] = child
        elif "haproxy" in cmdline:
            found["haproxy"] = child
        elif "celery" in cmdline and "worker" in cmdline:
            found[
                "generation_worker"
                if "-Q generation " in cmdline
                else "moderation_worker"
                if "-Q moderation " in cmdline
                else "worker"
            ] = child
    return found


# --- data --------------------------------------------------------------------


def setup_data(*, users: int, conversations: int, max_new_tokens: int) -> list[tuple[int, str]]:
    """One conversation per client of every planned level, each with its
    owner's session cookie (`users` accounts, signed in), and the rule that
    flags FLAG_WORD. Runs before any message, so the worker compiles the
    rule with its first one."""
    from django.db import transaction
    from django.test import Client

    from accounts.models import User
    from chat import services
    from moderation.models import ModerationRule

    ModerationRule.objects.create(
        category="harassment",
        kind="words",
        pattern=FLAG_WORD,
        applies_to="input",
        note="bench/load.py: a made-up word, so that a message takes the template path",
    )
    accounts = [User.objects.get_or_create(username=f"load-{i}")[0] for i in range(users)]
    cookies = []
    for user in accounts:
        client = Client()
        client.force_login(user)
        cookies.append(client.cookies["sessionid"].value)
    values = {"max_new_tokens": max_new_tokens, "temperature": 0.0}
    with transaction.atomic():
        return [
            (services.conversation_create(owner=accounts[i % users], settings_values=values).pk, cookies[i % users])
            for i in range(conversations)
        ]


def database_statuses(conversation_ids: list[int]) -> dict:
    from django.db.models import Count

    from chat.models import Message

    rows = Message.objects.filter(conversation_id__in=conversation_ids).values("role", "status").annotate(n=Count("id"))
    by_role: dict[str, dict[str, int]] = {}
    for row in rows:
        by_role.setdefault(row["role"], {})[row["status"]] = row["n"]
    return by_role


def active_count(statuses: dict) -> int:
    return sum(n for role in statuses.values() for status, n in role.items() if status in ACTIVE)


# --- measurement -----------------------------------------------------------


class Sampler:
    """CPU time of each process between `start` and `stop`, and peaks
    sampled every second: the web processes' open files and threads,
    PostgreSQL connections to the bench database."""

    def __init__(self, processes: dict, postgres_url: str):
        self.processes, self.postgres_url = processes, postgres_url
        self.peaks = Counter()
        self.postgres = None
        if postgres_url:
            import psycopg

            self.postgres = psycopg.connect(postgres_url, autocommit=True)

    def _cpu(self) -> dict:
        import psutil

        times = {}
        for role, process in self.processes.items():
            if role == "postgres":
                continue
            try:
                cpu = process.cpu_times()
                times[role] = cpu.user + cpu.system
            except psutil.Error:
                times[role] = 0.0
        postmaster = self.processes.get("postgres")
        if postmaster is not None:
            # Backends that ended are in the postmaster's children times;
            # live ones are added. Every database of the server counts.
            try:
                cpu = postmaster.cpu_times()
                total = cpu.user + cpu.system + cpu.children_user + cpu.children_system
                for child in postmaster.children():
                    try:
                        child_cpu = child.cpu_times()
                        total += child_cpu.user + child_cpu.system
                    except psutil.Error:
                        pass
                times["postgres"] = total
            except psutil.Error:
                times["postgres"] = 0.0
        machine = psutil.cpu_times()
        times["machine"] = (
            machine.user + machine.system + machine.nice + getattr(machine, "irq", 0) + getattr(machine, "softirq", 0)
        )
        return times

    def _postgres(self) -> dict:
        if self.postgres is None:
            return {}
        sessions, active_ms, commits = self.postgres.execute(
            "SELECT sessions, active_time, xact_commit FROM pg_stat_database WHERE datname = %s", (DATABASE_NAME,)
        ).fetchone()
        return {"sessions": sessions, "active_ms": active_ms, "commits": commits}

    def start(self) -> None:
        self.started, self.cpu0, self.pg0 = time.perf_counter(), self._cpu(), self._postgres()

    def sample(self) -> None:
        import psutil

        try:
            for role, process in self.processes.items():
                if role.startswith("web"):
                    self.peaks[f"{role}_fds"] = max(self.peaks[f"{role}_fds"], process.num_fds())
                    self.peaks[f"{role}_threads"] = max(self.peaks[f"{role}_threads"], process.num_threads())
            for role, process in self.processes.items():
                if role.endswith("worker"):
                    self.peaks[f"{role}_threads"] = max(self.peaks[f"{role}_threads"], process.num_threads())
        except psutil.Error:
            pass
        if self.postgres is not None:
            (connections,) = self.postgres.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (DATABASE_NAME,)
            ).fetchone()
            self.peaks["postgres_connections"] = max(self.peaks["postgres_connections"], connections)

    def stop(self) -> dict:
        wall = time.perf_counter() - self.started
        cpu1, pg1 = self._cpu(), self._postgres()
        cores = {role: (cpu1[role] - self.cpu0[role]) / wall for role in cpu1}
        cores["other"] = cores["machine"] - sum(cores[r] for r in self.processes)
        result = {"cpu_cores": {k: round(v, 3) for k, v in cores.items()}, "peaks": dict(self.peaks)}
        if pg1:
            result["postgres"] = {
                "sessions_opened_per_second": round((pg1["sessions"] - self.pg0["sessions"]) / wall, 1),
                "commits_per_second": round((pg1["commits"] - self.pg0["commits"]) / wall, 1),
                "active_cores": round((pg1["active_ms"] - self.pg0["active_ms"]) / 1000 / wall, 3),
            }
        return result

    def close(self) -> None:
        if self.postgres is not None:
            self.postgres.close()


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    values = sorted(values)
    return {
        "n": len(values),
        "p50": round(statistics.median(values), 1),
        "p99": round(values[min(len(values) - 1, int(len(values) * 0.99))], 1),
    }


# --- clients -----------------------------------------------------------------


class LoadClient:
    """One WebSocket: signs in with its cookie, watches its conversation, sends
    at `rate` per second (Poisson) from `start` for `duration` seconds, and
    notes when each frame of each exchange arrives. Frames may come before the `sent` ack
    (the worker can be quicker than the consumer's reply), so arrival times
    are kept by message id and joined to the sends at the end."""

    def __init__(self, index: int, url: str, conversation: tuple[int, str], texts: list[str]):
        self.index, self.url, self.texts = index, url, texts
        self.conversation, self.cookie = conversation
        self.connect_ms: float | None = None
        self.sends: dict[str, float] = {}  # request id -> when sent
        self.send_lag: list[float] = []  # how late each send left against its schedule (the client's own lag)
        self.acks: dict[str, tuple[float, int, int]] = {}  # request id -> (when, user message id, answer id)
        self.finals: dict[int, tuple[float, str]] = {}  # message id -> (when final, status)
        self.first_delta: dict[int, float] = {}
        self.errors: Counter = Counter()
        self.done_requests: set[str] = set()
        self.message_requests: dict[int, str] = {}  # user message and answer ids -> request id
        self.sending = True
        self.all_done = asyncio.Event()
        self.ws = None
        self.connect_error = ""

    async def connect(self) -> bool:
        import websockets

        started = time.perf_counter()
        try:
            self.ws = await websockets.connect(
                self.url.replace("http://", "ws://") + "/ws/chat/",
                open_timeout=CONNECT_TIMEOUT,
                max_size=None,
                additional_headers={"Cookie": f"sessionid={self.cookie}", "Origin": self.url},
            )
            ready = json.loads(await asyncio.wait_for(self.ws.recv(), CONNECT_TIMEOUT))
            if ready["type"] != "ready":
                raise RuntimeError(ready)
            self.connect_ms = (time.perf_counter() - started) * 1000
            await self.ws.send(json.dumps({"type": "subscribe", "conversation": self.conversation}))
            subscribed = json.loads(await asyncio.wait_for(self.ws.recv(), CONNECT_TIMEOUT))
            if subscribed["type"] != "subscribed":
                raise RuntimeError(subscribed)
        except Exception as error:  # counted, never raised: a refused client is a finding
            self.errors[f"connect: {type(error).__name__}"] += 1
            self.connect_error = repr(error)[:300]
            return False
        return True

    def _check(self, request_id: str) -> None:
        """An exchange is done once both its messages are final: the user's
        message's frame comes after the answer's on the template path."""
        _, user_id, answer_id = self.acks[request_id]
        if user_id in self.finals and answer_id in self.finals and self.finals[answer_id][1] in FINAL:
            self._finish(request_id)

    def _finish(self, request_id: str) -> None:
        self.done_requests.add(request_id)
        if not self.sending and len(self.done_requests) == len(self.sends):
            self.all_done.set()

    async def receive(self) -> None:
        try:
            async for raw in self.ws:
                now = time.perf_counter()
                frame = json.loads(raw)
                kind = frame["type"]
                if kind == "sent":
                    request_id = frame["request_id"]
                    user_id, answer_id = frame["user_message"]["id"], frame["answer"]["id"]
                    self.acks[request_id] = (now, user_id, answer_id)
                    self.message_requests[user_id] = self.message_requests[answer_id] = request_id
                    self._check(request_id)
                elif kind == "message":
                    message = frame["message"]
                    if message["status"] in FINAL or message["status"] in USER_FINAL:
                        self.finals.setdefault(message["id"], (now, message["status"]))
                        if message["id"] in self.message_requests:
                            self._check(self.message_requests[message["id"]])
                elif kind == "delta":
                    self.first_delta.setdefault(frame["message_id"], now)
                elif kind == "error":
                    self.errors[frame["code"]] += 1
                    if frame.get("request_id") in self.sends:
                        self._finish(frame["request_id"])
        except Exception as error:  # the socket closed under us: counted
            if self.sending or len(self.done_requests) < len(self.sends):
                self.errors[f"closed: {type(error).__name__}"] += 1

    async def send_loop(self, start: float, duration: float, rate: float, rng: random.Random) -> None:
        scheduled = start + rng.expovariate(rate)
        k = 0
        try:
            while scheduled < start + duration:
                await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
                request_id = f"{self.index}-{k}"
                now = time.perf_counter()
                self.send_lag.append((now - scheduled) * 1000)
                self.sends[request_id] = now
                await self.ws.send(
                    json.dumps(
                        {
                            "type": "send",
                            "request_id": request_id,
                            "conversation": self.conversation,
                            "parent": None,
                            "content": self.texts[(self.index + k) % len(self.texts)],
                        }
                    )
                )
                k += 1
                scheduled += rng.expovariate(rate)
        except Exception as error:
            self.errors[f"send: {type(error).__name__}"] += 1
        finally:
            self.sending = False
            if len(self.done_requests) == len(self.sends):
                self.all_done.set()

    def latencies(self) -> dict:
        """Per stage, milliseconds from each send; the answers' statuses and
        when the last one arrived."""
        out = {stage: [] for stage in STAGES[1:]}
        statuses, last = Counter(), 0.0
        for request_id, sent_at in self.sends.items():
            if request_id not in self.acks:
                continue
            acked_at, user_id, answer_id = self.acks[request_id]
            out["sent_ack"].append((acked_at - sent_at) * 1000)
            if user_id in self.finals:
                out["user_final"].append((self.finals[user_id][0] - sent_at) * 1000)
            if answer_id in self.first_delta:
                out["first_delta"].append((self.first_delta[answer_id] - sent_at) * 1000)
            if answer_id in self.finals:
                final_at, status = self.finals[answer_id]
                out["answer_final"].append((final_at - sent_at) * 1000)
                statuses[status] += 1
                last = max(last, final_at)
        return {"stages": out, "statuses": statuses, "last_answer": last}


class Probe:
    """Ping/pong on one more socket, every half second: how long a web
    process takes to answer a frame that touches no table. Before this
    round the pong also waited in the process's one thread-sensitive thread,
    where Channels runs `close_old_connections` before dispatching any
    message and every socket's database call ran (core/websockets.py)."""

    def __init__(self, url: str, cookie: str):
        self.url, self.cookie = url, cookie
        self.pongs: list[tuple[float, float]] = []  # (when answered, round trip ms)
        self.stop = asyncio.Event()

    async def run(self) -> None:
        import websockets

        try:
            async with websockets.connect(
                self.url.replace("http://", "ws://") + "/ws/chat/",
                open_timeout=CONNECT_TIMEOUT,
                additional_headers={"Cookie": f"sessionid={self.cookie}", "Origin": self.url},
            ) as ws:
                await asyncio.wait_for(ws.recv(), CONNECT_TIMEOUT)  # ready
                while not self.stop.is_set():
                    started = time.perf_counter()
                    await ws.send(json.dumps({"type": "ping"}))
                    while json.loads(await asyncio.wait_for(ws.recv(), 60))["type"] != "pong":
                        pass
                    now = time.perf_counter()
                    self.pongs.append((now, (now - started) * 1000))
                    await asyncio.sleep(0.5)
        except Exception:  # the probe is a hint; its absence is not a failure
            pass

    def between(self, start: float, end: float) -> dict:
        return percentiles([ms for when, ms in self.pongs if start <= when <= end])


async def settle(url: str, cookie: str, cap: float) -> float | None:
    """Waits until three pongs in a row come back within 100 ms (work left
    queued in the web tier by the level before has run); seconds taken, or None.
    A probe whose handshake timed out is replaced."""
    started = time.perf_counter()
    while time.perf_counter() - started < cap:
        probe = Probe(url, cookie)
        task = asyncio.create_task(probe.run())
        try:
            while not task.done() and time.perf_counter() - started < cap:
                recent = [ms for _, ms in probe.pongs[-3:]]
                if len(recent) == 3 and max(recent) < 100:
                    return time.perf_counter() - started
                await asyncio.sleep(0.2)
        finally:
            probe.stop.set()
            await asyncio.wait([task], timeout=70)
    return None


async def sample_window(sampler: Sampler, seconds: float) -> dict:
    sampler.start()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        await asyncio.to_thread(sampler.sample)
        await asyncio.sleep(min(1.0, max(0.0, end - time.perf_counter())))
    return sampler.stop()


async def run_level(
    *,
    url: str,
    conversations: list[tuple[int, str]],
    texts: list[str],
    rate: float,
    duration: float,
    connect_rate: float,
    idle_seconds: float,
    answer_timeout: float,
    sampler: Sampler,
    seed: int,
) -> dict:
    clients = [LoadClient(i, url, conversation, texts) for i, conversation in enumerate(conversations)]
    live, ramp_seconds = await connect_all(clients, connect_rate)
    receivers = [asyncio.create_task(c.receive()) for c in live]
    probe = Probe(url, conversations[0][1])
    probe_task = asyncio.create_task(probe.run())

    # What the open sockets cost before anyone sends.
    idle_start = time.perf_counter()
    idle = await sample_window(sampler, idle_seconds)
    idle["pong_ms"] = probe.between(idle_start, time.perf_counter())

    start = time.perf_counter() + 0.5
    rng = random.Random(seed)
    senders = [asyncio.create_task(c.send_loop(start, duration, rate, random.Random(rng.random()))) for c in live]
    await asyncio.sleep(max(0.0, start - time.perf_counter()))
    usage = await sample_window(sampler, duration)
    usage["pong_ms"] = probe.between(start, start + duration)
    await asyncio.gather(*senders)
    deadline = start + duration + answer_timeout
    waits = [asyncio.create_task(c.all_done.wait()) for c in live]
    if waits:
        await asyncio.wait(waits, timeout=max(0.0, deadline - time.perf_counter()))
    tail_seconds = time.perf_counter() - (start + duration)
    for task in waits:
        task.cancel()
    probe.stop.set()
    await asyncio.gather(*(c.ws.close() for c in live), return_exceptions=True)
    await asyncio.gather(*receivers, return_exceptions=True)
    await asyncio.wait([probe_task], timeout=10)

    stages = {stage: [] for stage in STAGES}
    stages["connect"] = [c.connect_ms for c in live]
    statuses, errors, last, sent, lag = Counter(), Counter(), start, 0, []
    for client in clients:
        errors.update(client.errors)
    for client in live:
        seen = client.latencies()
        for stage, values in seen["stages"].items():
            stages[stage].extend(values)
        statuses.update(seen["statuses"])
        last = max(last, seen["last_answer"])
        sent += len(client.sends)
        lag.extend(client.send_lag)
    answered = len(stages["answer_final"])
    return {
        "clients": len(clients),
        "connected": len(live),
        "rate_per_client": rate,
        "offered_per_second": round(len(live) * rate, 2),
        "duration_seconds": duration,
        "sent": sent,
        "acked": len(stages["sent_ack"]),
        "answered": answered,
        "unanswered_at_timeout": sent - answered,
        # Over the busy period, first send to last answer: the offered rate
        # while the stack keeps up, its capacity once a queue builds.
        "answered_per_second": round(answered / max(last - start, duration), 2),
        "sent_per_second": round(sent / duration, 2),
        "answer_statuses": dict(statuses),
        "errors": dict(errors),
        "connect_error_example": next((c.connect_error for c in clients if c.connect_error), ""),
        "latency_ms": {stage: percentiles(values) for stage, values in stages.items()},
        "client_send_lag_ms": percentiles(lag),
        "ramp_seconds": round(ramp_seconds, 1),
        "tail_seconds": round(tail_seconds, 1),
        "idle": idle,
        **usage,
    }


async def connect_all(clients: list[LoadClient], connect_rate: float) -> tuple[list[LoadClient], float]:
    """Connects the clients at `connect_rate` a second; those connected and
    the seconds the ramp took."""
    started = time.perf_counter()

    async def connect_later(client: LoadClient) -> bool:
        await asyncio.sleep(client.index / connect_rate)
        return await client.connect()

    connected = await asyncio.gather(*(connect_later(c) for c in clients))
    return [c for c, ok in zip(clients, connected, strict=True) if ok], time.perf_counter() - started


async def idle_sockets(
    *, url: str, conversations: list[tuple[int, str]], connect_rate: float, window: float, sampler: Sampler
) -> dict:
    """Opens a socket per conversation (each subscribed to its own, as an
    open chat page is), waits for the ramp's work to finish, then measures
    `window` seconds in which nobody sends."""
    clients = [LoadClient(i, url, conversation, []) for i, conversation in enumerate(conversations)]
    live, ramp_seconds = await connect_all(clients, connect_rate)
    receivers = [asyncio.create_task(c.receive()) for c in live]
    # PostgreSQL reports a backend's transactions up to 10 s late once it
    # idles: the ramp's own queries must not count in the window.
    await asyncio.sleep(12)
    probe = Probe(url, conversations[0][1])
    probe_task = asyncio.create_task(probe.run())
    window_start = time.perf_counter()
    row = await sample_window(sampler, window)
    row["pong_ms"] = probe.between(window_start, time.perf_counter())
    probe.stop.set()
    await asyncio.gather(*(c.ws.close() for c in live), return_exceptions=True)
    await asyncio.gather(*receivers, return_exceptions=True)
    await asyncio.wait([probe_task], timeout=10)
    errors = Counter()
    for client in clients:
        errors.update(client.errors)
    return {
        "clients": len(clients),
        "connected": len(live),
        "ramp_seconds": round(ramp_seconds, 1),
        "connect_ms": percentiles([c.connect_ms for c in live]),
        "errors": dict(errors),
        "connect_error_example": next((c.connect_error for c in clients if c.connect_error), ""),
        "window_seconds": window,
        **row,
    }


async def baseline(url: str, conversation: tuple[int, str], texts: list[str], runs: int, timeout: float) -> dict:
    """One client, one message at a time: each stage unloaded."""
    client = LoadClient(0, url, conversation, texts)
    if not await client.connect():
        raise RuntimeError(f"baseline client could not connect: {client.connect_error}")
    receiver = asyncio.create_task(client.receive())
    for k in range(runs):
        request_id = f"0-{k}"
        client.sends[request_id] = time.perf_counter()
        await client.ws.send(
            json.dumps(
                {
                    "type": "send",
                    "request_id": request_id,
                    "conversation": client.conversation,
                    "parent": None,
                    "content": texts[k % len(texts)],
                }
            )
        )
        deadline = time.perf_counter() + timeout
        while request_id not in client.done_requests:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"baseline message {k} got no answer in {timeout} s")
            await asyncio.sleep(0.005)
    await client.ws.close()
    await asyncio.gather(receiver, return_exceptions=True)
    seen = client.latencies()
    if client.errors:
        raise RuntimeError(f"baseline errors: {dict(client.errors)}")
    return {
        "latency_ms": {stage: percentiles(values) for stage, values in seen["stages"].items()},
        "answer_statuses": dict(seen["statuses"]),
    }


# --- the run -----------------------------------------------------------------


def level_ok(row: dict, slo_ms: float) -> bool:
    return (
        row.get("unanswered_at_timeout") == 0
        and not row.get("errors")
        and row["database"]["active_after_drain"] == 0
        and row.get("connected") == row["clients"]
        and row["latency_ms"]["answer_final"].get("p99", float("inf")) <= slo_ms
    )


def drain(conversation_ids: list[int], cap: float) -> dict:
    """Waits (at most `cap` seconds) for every message of the level to reach
    a final state: the statuses, how many were still active when the
    clients stopped waiting, and how many still are."""
    started = time.perf_counter()
    statuses = database_statuses(conversation_ids)
    active_at_timeout = active_count(statuses)
    while active_count(statuses) and time.perf_counter() - started < cap:
        time.sleep(0.5)
        statuses = database_statuses(conversation_ids)
    return {
        "statuses": statuses,
        "active_when_clients_stopped": active_at_timeout,
        "active_after_drain": active_count(statuses),
        "drain_seconds": round(time.perf_counter() - started, 1),
    }


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--clients", default="50,200,500", help=f"client counts, comma-separated (at most {MAX_CLIENTS})"
    )
    parser.add_argument("--rate", type=float, default=0.1, help="messages per second per client (Poisson)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of sending per level")
    parser.add_argument("--path", choices=("template", "model", "both"), default="both")
    parser.add_argument(
        "--steps",
        type=int,
        default=3,
        help="then double the rate at the largest client count that passed, this many times or until a level fails",
    )
    parser.add_argument(
        "--slo-ms", type=float, default=5_000.0, help="a level fails when its p99 send -> answer final exceeds this"
    )
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--connect-rate", type=float, default=100.0, help="new connections per second in the ramp-up")
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=3.0,
        help="seconds the connected clients sit idle, measured, before sending",
    )
    parser.add_argument(
        "--answer-timeout",
        type=float,
        default=20.0,
        help="seconds after the sending window to wait for the last answers",
    )
    parser.add_argument(
        "--drain-cap",
        type=float,
        default=20.0,
        help="seconds to wait for stored messages to reach a final state after that",
    )
    parser.add_argument(
        "--final-drain-cap",
        type=float,
        default=120.0,
        help="seconds to wait at the end for every stored message to reach a final state",
    )
    parser.add_argument(
        "--settle-cap",
        type=float,
        default=120.0,
        help="seconds to wait, before a level, for the web tier to answer pings promptly again",
    )
    parser.add_argument("--level-cap", type=float, default=150.0, help="wall-clock cap of one level")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=480.0,
        help="no level starts that could end past this (the final check may add up to "
        "--settle-cap and --final-drain-cap)",
    )
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--worker-concurrency", type=int, default=16, help="threads of the Celery worker")
    parser.add_argument("--baseline-runs", type=int, default=10)
    parser.add_argument(
        "--postgres",
        default="postgresql://chatsite:chatsite@127.0.0.1:5432/postgres",
        help="a server URL whose role may create databases ('' for SQLite)",
    )
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=0,
        help="CONN_MAX_AGE for the stack (0, Django's default and the settings': a new "
        "database connection for every call)",
    )
    parser.add_argument("--web-processes", type=int, default=1)
    parser.add_argument(
        "--balancer",
        action="store_true",
        help="clients connect through HAProxy in front of the web processes (scripts/haproxy.sh)",
    )
    parser.add_argument(
        "--moderation-layers",
        default="",
        help="MODERATION_LAYERS for the stack (default: the settings' layers); 'rules' leaves the "
        "classifier out, to measure the web tier without it on the same cores",
    )
    parser.add_argument(
        "--queues-apart",
        action="store_true",
        help="a moderation worker (4 threads) beside the generation worker, as `make cluster` runs them",
    )
    parser.add_argument(
        "--idle-clients",
        type=int,
        default=0,
        help=f"first hold this many idle sockets (at most {MAX_IDLE_CLIENTS}) and measure their cost",
    )
    parser.add_argument("--idle-window", type=float, default=20.0, help="seconds the idle sockets are measured")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "bench/results/load.json"))
    args = parser.parse_args()
    args.counts = [int(n) for n in args.clients.split(",") if n]
    if args.counts and (max(args.counts) > MAX_CLIENTS or min(args.counts) < 1):
        parser.error(f"--clients must lie in 1..{MAX_CLIENTS}")
    if not 0 <= args.idle_clients <= MAX_IDLE_CLIENTS:
        parser.error(f"--idle-clients must lie in 0..{MAX_IDLE_CLIENTS}")
    args.paths = ["template", "model"] if args.path == "both" else [args.path]
    return args


def run_levels(
    args,
    *,
    url: str,
    conversations: list,
    processes: dict,
    database_url: str,
    report: dict,
    run_started: float,
    ran: list,
) -> None:
    """The client levels, the paths alternating (so the time cap cuts both
    alike), then the rate steps; each level starts once the web tier has worked
    off what the one before left queued."""
    texts = {"model": PROMPTS, "template": [f"{p} {FLAG_WORD}" for p in PROMPTS]}
    for path in args.paths:
        # Two rounds: the first loads the model and the classifier.
        asyncio.run(baseline(url, conversations.pop(), texts[path], 3, 120))
        report["baseline"][path] = asyncio.run(baseline(url, conversations.pop(), texts[path], args.baseline_runs, 60))
        print("baseline", path, json.dumps(report["baseline"][path]), flush=True)

    def levels():
        for n in args.counts:
            for path in args.paths:
                yield path, n, args.rate, False
        passed = {
            path: max((r["clients"] for r in report["levels"] if r["path"] == path and r.get("ok")), default=None)
            for path in args.paths
        }
        for k in range(1, args.steps + 1):
            for path in args.paths:
                failed = any(not r.get("ok") for r in report["levels"] if r["path"] == path and r.get("step"))
                if passed[path] is not None and not failed:
                    yield path, passed[path], args.rate * 2**k, True

    for index, (path, n, rate, step) in enumerate(levels()):
        settled = asyncio.run(settle(url, conversations[-1][1], args.settle_cap))
        if settled is None:
            print(f"the web tier still slow {args.settle_cap} s after the last level: stopping", flush=True)
            report["stopped"] = "the web tier did not settle"
            return
        elapsed = time.perf_counter() - run_started
        if elapsed + args.duration + args.answer_timeout + args.drain_cap > args.max_seconds:
            report["levels"].append(
                {
                    "path": path,
                    "clients": n,
                    "rate_per_client": rate,
                    "step": step,
                    "skipped": f"past --max-seconds ({elapsed:.0f} s elapsed)",
                }
            )
            continue
        level = [conversations.pop() for _ in range(n)]
        sampler = Sampler(processes, database_url.split("?")[0])
        try:
            row = asyncio.run(
                asyncio.wait_for(
                    run_level(
                        url=url,
                        conversations=level,
                        texts=texts[path],
                        rate=rate,
                        duration=args.duration,
                        connect_rate=args.connect_rate,
                        idle_seconds=args.idle_seconds,
                        answer_timeout=args.answer_timeout,
                        sampler=sampler,
                        seed=args.seed + index,
                    ),
                    timeout=args.level_cap,
                )
            )
        except TimeoutError:
            row = {
                "clients": n,
                "rate_per_client": rate,
                "errors": {"level_cap": 1},
                "latency_ms": {"answer_final": {}},
            }
        finally:
            sampler.close()
        level_ids = [conversation for conversation, _ in level]
        row = {
            "path": path,
            "step": step,
            "settle_seconds": round(settled, 1),
            **row,
            "database": drain(level_ids, args.drain_cap),
        }
        ran.append((row, level_ids))
        base = report["baseline"][path]["latency_ms"]["answer_final"]["p50"]
        final = row["latency_ms"]["answer_final"]
        if final.get("n"):
            row["answer_final_vs_baseline_p50"] = {
                "p50": round(final["p50"] / base, 2),
                "p99": round(final["p99"] / base, 2),
            }
        row["ok"] = level_ok(row, args.slo_ms)
        report["levels"].append(row)
        print(json.dumps(_summary(row)), flush=True)
        if row["database"]["active_after_drain"]:
            print(
                "messages still active after the drain; the next level would share their queues: stopping", flush=True
            )
            report["stopped"] = "messages left active"
            return


def final_check(args, *, url: str, cookie: str, ran: list, report: dict) -> None:
    """Once the web tier has worked off its queue (a frame that waited there can
    still store a message after its socket closed) and the workers theirs
    (at most `--final-drain-cap` seconds), every level's messages again:
    any still active is lost; the sends never stored (their socket closed
    while the frame still waited) are counted."""
    settled = asyncio.run(settle(url, cookie, args.settle_cap))
    report["final_check_settle_seconds"] = None if settled is None else round(settled, 1)
    report["final_check_drain"] = drain([i for _, ids in ran for i in ids], args.final_drain_cap)
    for row, level_ids in ran:
        statuses = database_statuses(level_ids)
        stored = sum(statuses.get("user", {}).values())
        row["database"]["at_end"] = {
            "statuses": statuses,
            "lost": active_count(statuses),
            "stored_user_messages": stored,
        }
        if "sent" in row:
            row["sent_not_stored"] = row["sent"] - stored
        row["ok"] = row["ok"] and row["database"]["at_end"]["lost"] == 0


def main():
    args = parse_args()
    # Each socket is a file on both ends; the stack's processes inherit this.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    run_started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        redis, redis_url = start_redis(tmp)
        try:
            database_url = ""
            if args.postgres:
                database_url = fresh_postgres_database(args.postgres, DATABASE_NAME)
                if args.conn_max_age:
                    database_url += f"?conn_max_age={args.conn_max_age}"
            extra_env = {
                "REDIS_URL": redis_url,
                "CHANNEL_LAYER_PREFIX": "load",
                "CHAT_RATE_LIMIT_PER_MINUTE": "10000000",
                "CHAT_MAX_CONCURRENT_GENERATIONS": "10000000",
                "WEBSOCKET_MAX_PER_USER": "10000000",
                "WEBSOCKET_FRAMES_PER_SECOND": "10000000",
                **({"MODERATION_LAYERS": args.moderation_layers} if args.moderation_layers else {}),
                **({"DATABASE_URL": database_url} if database_url else {}),
            }
            from engine.tiny import build_tiny_chat_model

            model_dir = build_tiny_chat_model(tmp / "tiny-model", never_ends=True)
            # This process reads and writes the same database as the stack.
            os.environ.update(extra_env, DATA_DIR=str(tmp / "stack"), DJANGO_SETTINGS_MODULE="chatsite.settings")
            if not database_url:  # running_stack's own SQLite file
                os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'stack' / 'bench.sqlite3'}"
            report = {
                "cpu_count": os.cpu_count(),
                "load_average_before": os.getloadavg(),
                "ulimit_nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
                "database": "postgresql" if database_url else "sqlite",
                "conn_max_age": args.conn_max_age,
                "web_processes": args.web_processes,
                "balancer": args.balancer,
                "queues_apart": args.queues_apart,
                "settings": {
                    "clients": args.counts,
                    "rate_per_client": args.rate,
                    "duration_seconds": args.duration,
                    "steps": args.steps,
                    "users": args.users,
                    "max_new_tokens": args.max_new_tokens,
                    "worker_concurrency": args.worker_concurrency,
                    "answer_timeout_seconds": args.answer_timeout,
                    "slo_ms": args.slo_ms,
                    "connect_rate": args.connect_rate,
                    "model": "engine.tiny random-init, never ends (every answer max_new_tokens long)",
                    "moderation": f"{args.moderation_layers or 'default'} layers; the template path's messages carry a "
                    "word an input rule flags",
                    "stack_env": {k: v for k, v in extra_env.items() if k.startswith("CHAT_")},
                },
                "baseline": {},
                "levels": [],
            }
            with running_stack(
                str(model_dir),
                tmp / "stack",
                extra_env,
                concurrency=args.worker_concurrency,
                web_processes=args.web_processes,
                balancer=args.balancer,
                queues_apart=args.queues_apart,
            ) as (url, cookie):
                import django

                django.setup()
                per_path = sum(args.counts) + args.steps * max(args.counts, default=0) + 2
                conversations = setup_data(
                    users=args.users,
                    conversations=per_path * len(args.paths) + args.idle_clients,
                    max_new_tokens=args.max_new_tokens,
                )
                processes = stack_processes(redis)
                if args.idle_clients:
                    sampler = Sampler(processes, database_url.split("?")[0])
                    try:
                        report["idle_sockets"] = asyncio.run(
                            idle_sockets(
                                url=url,
                                conversations=[conversations.pop() for _ in range(args.idle_clients)],
                                connect_rate=args.connect_rate,
                                window=args.idle_window,
                                sampler=sampler,
                            )
                        )
                    finally:
                        sampler.close()
                    print("idle sockets", json.dumps(report["idle_sockets"]), flush=True)
                ran = []
                if args.counts:
                    run_levels(
                        args,
                        url=url,
                        conversations=conversations,
                        processes=processes,
                        database_url=database_url,
                        report=report,
                        run_started=run_started,
                        ran=ran,
                    )
                    final_check(args, url=url, cookie=cookie, ran=ran, report=report)
                from django.db import connections

                connections.close_all()
        finally:
            redis.terminate()
            redis.wait(timeout=20)
    report["wall_seconds"] = round(time.perf_counter() - run_started, 1)
    report_write(report, args.out)


def _summary(row: dict) -> dict:
    latency = row.get("latency_ms", {})
    return {
        "path": row["path"],
        "clients": row["clients"],
        "rate": row["rate_per_client"],
        "offered/s": row.get("offered_per_second"),
        "answered/s": row.get("answered_per_second"),
        "unanswered": row.get("unanswered_at_timeout"),
        "active after drain": row["database"]["active_after_drain"],
        "errors": row.get("errors"),
        "ok": row["ok"],
        **{
            f"{stage} p50/p99": f"{latency[stage].get('p50')}/{latency[stage].get('p99')}"
            for stage in STAGES
            if stage in latency
        },
        "pong idle/sending p50": [row.get("idle", {}).get("pong_ms", {}).get("p50"), row.get("pong_ms", {}).get("p50")],
        "cpu": row.get("cpu_cores"),
        "postgres": row.get("postgres"),
        "idle postgres": row.get("idle", {}).get("postgres"),
        "peaks": row.get("peaks"),
    }


if __name__ == "__main__":
    main()
