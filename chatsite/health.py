"""`/healthz`: is each part the app needs reachable right now? And
`/healthz/ready`: can this web process serve? The load balancer and
Kubernetes' readiness probe ask the second: a web process that reaches the
database and Redis serves pages and sockets even while a worker queue has
no worker (its answers wait in the queue), so it stays in rotation; the
first is for people and monitoring. A process that is shutting down stops
listening at once, which the balancer sees as not ready.

`/healthz` also says whether generation is ready: whether a generation
worker has loaded and warmed its model (chat.worker_readiness), and which
version it serves. A worker still warming leaves the status code alone (a
deploy's few seconds of warming are expected, and answers sent meanwhile
wait for it); one whose model failed to load, with none ready or warming
beside it, makes the page 503, since answers would fail.

Both pages are public, and a failed check's error names hosts, ports and
database users: it is logged, and shown only to those who may read
/metrics (its token, or an admin); others hear `ok: false`."""

import logging
import threading
import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse

from chat.worker_readiness import FAILED, READY, WARMING, generation_workers
from core.redis_client import redis_client
from metrics.access import can_read_metrics

from .celery import app as celery_app

logger = logging.getLogger(__name__)


def _queues() -> tuple[str, ...]:
    """The queues a worker must serve: the training one is a setting."""
    return ("moderation", "generation", settings.TRAINING_QUEUE)


def _timed(check):
    started = time.perf_counter()
    try:
        detail = check()
        ok = True
    except Exception as exc:  # reported, not raised: this page exists to say what is down
        detail, ok = f"{type(exc).__name__}: {exc}"[:300], False
        logger.warning("Health check %s failed: %s", check.__name__.strip("_"), detail)
    return {"ok": ok, "ms": round((time.perf_counter() - started) * 1000, 1), "detail": detail}


def _response(request, body: dict, *, ok: bool) -> JsonResponse:
    """`body`, without the checks' details unless the caller may read them."""
    try:
        allowed = can_read_metrics(request)
    except Exception:  # a session cookie needs the database, which may be what is down
        allowed = False
    if not allowed:
        body = {
            name: {key: value for key, value in part.items() if key != "detail"} if isinstance(part, dict) else part
            for name, part in body.items()
        }
    return JsonResponse(body, status=200 if ok else 503)


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return connection.vendor


def _redis():
    redis_client().ping()
    return "pong"


# Asking the workers which queues they serve is a broadcast that waits a
# second for replies; on a public page, every request doing it would let
# anyone keep a server thread and every worker busy. One answer serves all
# requests for this long.
_WORKERS_CACHE_SECONDS = 5.0
_workers_cache: dict = {}
_workers_lock = threading.Lock()


def _workers():
    with _workers_lock:
        cached = _workers_cache.get("counts")
        if cached and time.monotonic() - cached[0] < _WORKERS_CACHE_SECONDS:
            return cached[1]
        counts = _ask_workers()
        _workers_cache["counts"] = (time.monotonic(), counts)
        return counts


def _ask_workers():
    replies = celery_app.control.inspect(timeout=1.0).active_queues() or {}
    counts = {queue: 0 for queue in _queues()}
    for queues in replies.values():
        for queue in queues:
            if queue["name"] in counts:
                counts[queue["name"]] += 1
    return counts


def _this_process() -> tuple[dict, dict]:
    """What this process itself needs: the database and Redis."""
    return _timed(_database), _timed(_redis)


def readiness_view(request):
    database, redis_status = _this_process()
    ready = database["ok"] and redis_status["ok"]
    body = {"status": "ready" if ready else "unavailable", "database": database, "redis": redis_status}
    return _response(request, body, ok=ready)


def _generation(records: list[dict]) -> dict:
    """Generation readiness from the workers' records: ready when one is;
    else warming, failed, or `none` (no generation worker has recorded
    itself). The workers' names and errors are details."""
    states = {record["state"] for record in records}
    state = next((s for s in (READY, WARMING, FAILED) if s in states), "none")
    ready_versions = [record["version"] for record in records if record["state"] == READY]
    return {
        "ok": state != FAILED,
        "ready": state == READY,
        "state": state,
        "version": ready_versions[0] if ready_versions else None,
        "workers": [{"state": r["state"], "version": r["version"]} for r in records],
        "detail": records,
    }


def healthz_view(request):
    database, redis_status = _this_process()
    workers = _timed(_workers) if redis_status["ok"] else {"ok": False, "detail": "Redis is down"}
    queues = {
        name: {
            "ok": workers["ok"] and workers["detail"][name] > 0,
            "workers": workers["detail"][name] if workers["ok"] else 0,
        }
        for name in _queues()
    }
    records = _timed(generation_workers) if redis_status["ok"] else {"ok": False, "detail": "Redis is down"}
    if records["ok"]:
        generation = _generation(records["detail"])
    else:
        generation = {"ok": False, "ready": False, "state": "unknown", "detail": records["detail"]}
    healthy = database["ok"] and redis_status["ok"] and all(q["ok"] for q in queues.values()) and generation["ok"]
    body = {
        "status": "ok" if healthy else "degraded",
        "database": database,
        "redis": redis_status,
        "queues": queues,
        "generation": generation,
    }
    return _response(request, body, ok=healthy)
