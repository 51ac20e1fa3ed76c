"""Transient per-answer state in Redis: cancel flags and worker heartbeats.
Nothing here must survive a restart; the database holds the answer."""

import threading
import time

import redis
from django.conf import settings

from core.redis_client import redis_client


def _cancel_key(message_id: int) -> str:
    return f"chat:cancel:{message_id}"


def _heartbeat_key(message_id: int) -> str:
    return f"chat:heartbeat:{message_id}"


def request_cancel(message_id: int) -> None:
    redis_client().set(_cancel_key(message_id), 1, ex=600)


def clear_cancel(message_id: int) -> None:
    """Called once the answer is final, so a flag never outlives its answer
    (SQLite may hand a deleted row's id to a new message)."""
    redis_client().delete(_cancel_key(message_id))


def is_cancel_requested(message_id: int) -> bool:
    return bool(redis_client().exists(_cancel_key(message_id)))


class CancelWatch:
    """`should_stop` for a generation: asks Redis whether the answer was
    stopped at most every `interval` seconds, not once per token (a round
    trip inside every decoding step slowed the stream), so a stop takes
    effect within that interval. `clock` is time.monotonic, or a test's own
    clock, so a test decides how much time passes between calls."""

    def __init__(self, message_id: int, interval: float = 0.1, clock=time.monotonic):
        self.message_id = message_id
        self.interval = interval
        self.clock = clock
        self.cancelled = False
        self._checked_at = float("-inf")

    def __call__(self) -> bool:
        now = self.clock()
        if not self.cancelled and now - self._checked_at >= self.interval:
            self._checked_at = now
            self.cancelled = is_cancel_requested(self.message_id)
        return self.cancelled


def heartbeats_alive(message_ids: list[int]) -> dict[int, bool]:
    if not message_ids:
        return {}
    values = redis_client().mget([_heartbeat_key(pk) for pk in message_ids])
    return {pk: value is not None for pk, value in zip(message_ids, values, strict=True)}


class Heartbeat:
    """While the block runs, a thread marks the answer's worker as alive
    every second; when the worker dies, the key expires and the answer is
    reaped as interrupted."""

    def __init__(self, message_id: int, interval: float = 1.0):
        self.key = _heartbeat_key(message_id)
        self.interval = interval
        self.ttl_ms = int(settings.GENERATION_HEARTBEAT_TIMEOUT * 1000)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{message_id}", daemon=True)

    def _beat(self):
        redis_client().set(self.key, 1, px=self.ttl_ms)

    def _run(self):
        while not self._stop.wait(self.interval):
            try:
                self._beat()
            except redis.RedisError:
                pass  # the next beat retries; a long outage reads as a dead worker

    def __enter__(self):
        self._beat()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        redis_client().delete(self.key)
