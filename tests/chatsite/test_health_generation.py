"""`/healthz` on generation readiness: whether a generation worker has
loaded and warmed its model, from the records the workers keep in Redis
(chat.worker_readiness)."""

import pytest

from chat.worker_readiness import FAILED, READY, WorkerReadiness, generation_workers
from chatsite import health
from core.redis_client import redis_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_redis_db(settings):
    """A Redis database of this test's own, so the records of workers that
    other tests started are not in it."""
    settings.REDIS_URL = settings.REDIS_URL.rsplit("/", 1)[0] + "/7"
    redis_client.cache_clear()
    redis_client().flushdb()
    yield
    redis_client().flushdb()
    redis_client.cache_clear()


@pytest.fixture
def every_queue_served(monkeypatch):
    monkeypatch.setattr(health, "_workers", lambda: {"moderation": 1, "generation": 1, "training": 1})


@pytest.fixture
def record():
    records = []

    def make(worker):
        readiness = WorkerReadiness(worker)
        readiness.start()
        records.append(readiness)
        return readiness

    yield make
    for readiness in records:
        readiness.stop()


def test_a_warming_worker_is_reported_without_failing_the_page(client, own_redis_db, every_queue_served, record):
    record("gen-1@host")
    response = client.get("/healthz")
    generation = response.json()["generation"]
    assert generation["ready"] is False and generation["state"] == "warming"
    assert response.status_code == 200, "a deploy's seconds of warming are no outage"


def test_a_warm_worker_makes_generation_ready_and_names_its_version(client, own_redis_db, every_queue_served, record):
    record("gen-1@host")
    record("gen-2@host").update(state=READY, version="smollm2-v3", warm_ms=812)
    response = client.get("/healthz")
    generation = response.json()["generation"]
    assert generation["ready"] is True and generation["state"] == "ready" and generation["version"] == "smollm2-v3"
    assert sorted(w["state"] for w in generation["workers"]) == ["ready", "warming"]
    assert "gen-2@host" not in response.content.decode(), "worker names are details"
    assert response.status_code == 200


def test_a_worker_whose_model_failed_fails_the_page(client, own_redis_db, every_queue_served, record):
    record("gen-1@host").update(state=FAILED, error="ModelUnavailable: the files are missing at /srv/models/x")
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["status"] == "degraded"
    assert response.json()["generation"]["state"] == "failed"
    assert "/srv/models" not in response.content.decode()


def test_the_load_balancers_readiness_ignores_generation(client, own_redis_db, every_queue_served, record):
    record("gen-1@host").update(state=FAILED, error="boom")
    response = client.get("/healthz/ready")
    assert response.status_code == 200 and "generation" not in response.json()


def test_a_stopped_worker_drops_out(own_redis_db, record):
    readiness = record("gen-1@host")
    assert [r["worker"] for r in generation_workers()] == ["gen-1@host"]
    readiness.stop()
    assert generation_workers() == []
