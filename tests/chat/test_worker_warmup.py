"""A generation worker loads and warms its model as it starts, and says so
only once it has: a real Celery worker process, read through /healthz."""

import pytest

from chat.worker_readiness import generation_workers

from ..helpers.polling import eventually
from ..processes import start_celery_worker

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def _record(name):
    return next((r for r in generation_workers() if r["worker"].startswith(name)), None)


def test_a_generation_worker_is_ready_only_once_warm(app_env, process_log_dir, client, make_user, tiny_model_dir):
    worker = start_celery_worker(app_env, process_log_dir, queues="generation", name="warming", concurrency=1)
    try:
        ready = eventually(
            lambda: (_record("warming") or {}).get("state") == "ready" and _record("warming"),
            what="the worker's record says ready",
            timeout=120,
        )
        assert ready["version"] == tiny_model_dir.name and ready["warm_ms"] > 0
        log = worker.output()
        loaded = log.index("Loading chat model")
        warmed = log.index("Warm-up answer written: 2 tokens")
        said_ready = log.index("Generation worker ready")
        assert loaded < warmed < said_ready, "ready is said after the model loaded and answered once"

        client.force_login(make_user(username="ops", role="admin"))
        generation = client.get("/healthz").json()["generation"]
        assert generation["ready"] is True
        assert any(r["worker"] == ready["worker"] and r["state"] == "ready" for r in generation["detail"])
    finally:
        worker.stop()
    assert _record("warming") is None, "a stopped worker is no longer counted"


def test_a_worker_whose_model_is_missing_says_it_failed(app_env, process_log_dir, tmp_path):
    env = dict(app_env, CHAT_MODEL=str(tmp_path / "no-such-model"))
    worker = start_celery_worker(env, process_log_dir, queues="generation", name="missing", concurrency=1)
    try:
        failed = eventually(
            lambda: (_record("missing") or {}).get("state") == "failed" and _record("missing"),
            what="the worker's record says failed",
            timeout=120,
        )
        assert "not available on this worker" in failed["error"]
    finally:
        worker.stop()
