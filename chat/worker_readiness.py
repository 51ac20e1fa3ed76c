"""Whether each generation worker has its chat model loaded and warm: one
Redis key per worker, written as it starts warming and refreshed every few
seconds while it lives, so a worker that dies drops out within the TTL.
`/healthz` reads them (chatsite/health.py); the web's own readiness never
does, or a warming worker would take every web process out of rotation."""

from __future__ import annotations

import json
import logging
import threading

import redis

from core.redis_client import redis_client

logger = logging.getLogger(__name__)

_PREFIX = "chat:generation-worker:"
BEAT_SECONDS = 5.0
_TTL_SECONDS = 3 * BEAT_SECONDS

WARMING, READY, FAILED = "warming", "ready", "failed"


class WorkerReadiness:
    """One generation worker's record. `state` is warming until the model
    has loaded and answered once, then ready (or failed, with the error,
    when it could not load); `version` names the model version it warmed."""

    def __init__(self, worker: str):
        self.key = _PREFIX + worker
        self.record: dict = {"worker": worker, "state": WARMING, "version": None}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="generation-readiness", daemon=True)

    def start(self) -> None:
        self._write()
        self._thread.start()

    def update(self, **fields) -> None:
        self.record = {**self.record, **fields}
        self._write()

    def stop(self) -> None:
        """The worker is shutting down: it no longer answers."""
        self._stop.set()
        try:
            redis_client().delete(self.key)
        except redis.RedisError:
            pass  # the record expires on its own

    def _write(self) -> None:
        try:
            redis_client().set(self.key, json.dumps(self.record), ex=int(_TTL_SECONDS))
        except redis.RedisError as error:  # the next beat writes it again
            logger.warning("Could not record this worker's readiness: %s", error)

    def _run(self) -> None:
        while not self._stop.wait(BEAT_SECONDS):
            self._write()


def generation_workers() -> list[dict]:
    """The records of the generation workers alive now, by worker name."""
    client = redis_client()
    keys = sorted(client.scan_iter(match=_PREFIX + "*", count=100))
    values = client.mget(keys) if keys else []
    return [json.loads(value) for value in values if value is not None]
