import pytest

from chatsite import health

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_worker_answer():
    """The workers' answer is kept a few seconds; each test asks anew."""
    health._workers_cache.clear()
    yield
    health._workers_cache.clear()


def test_the_workers_are_asked_at_most_once_per_interval(client, monkeypatch):
    asked = []
    monkeypatch.setattr(
        health, "_ask_workers", lambda: asked.append(1) or {"moderation": 1, "generation": 1, "training": 1}
    )
    for _ in range(5):
        client.get("/healthz")
    assert len(asked) == 1


def test_health_reports_each_part(client):
    body = client.get("/healthz").json()
    assert body["database"]["ok"] and body["redis"]["ok"]
    assert set(body["queues"]) == {"moderation", "generation", "training"}


@pytest.mark.integration
def test_health_sees_a_running_worker(client, celery_worker):
    response = client.get("/healthz")
    body = response.json()
    assert all(body["queues"][queue]["workers"] >= 1 for queue in ("moderation", "generation", "training"))
    assert response.status_code == 200 and body["status"] == "ok"


def test_health_reports_a_missing_queue_worker(client, monkeypatch):
    from chatsite import health

    monkeypatch.setattr(health, "_workers", lambda: {"moderation": 1, "generation": 1, "training": 0})
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["status"] == "degraded"
    assert response.json()["queues"]["training"] == {"ok": False, "workers": 0}


def test_the_training_queue_is_the_configured_one(client, monkeypatch, settings):
    settings.TRAINING_QUEUE = "gpu-training"
    monkeypatch.setattr(health, "_ask_workers", lambda: {"moderation": 1, "generation": 1, "gpu-training": 1})
    body = client.get("/healthz").json()
    assert set(body["queues"]) == {"moderation", "generation", "gpu-training"}


def test_readiness_asks_only_what_this_process_needs(client, monkeypatch):
    """A queue without a worker leaves the web process in rotation."""
    monkeypatch.setattr(health, "_workers", lambda: {"moderation": 0, "generation": 0, "training": 0})
    response = client.get("/healthz/ready")
    assert response.status_code == 200 and response.json()["status"] == "ready"


def test_readiness_fails_without_redis(client, monkeypatch):
    def down():
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(health, "_redis", down)
    response = client.get("/healthz/ready")
    assert response.status_code == 503 and response.json()["redis"]["ok"] is False


def _redis_down_with_details():
    raise ConnectionError("Error 111 connecting to redis.internal:6379 as user chatsite-prod. Connection refused.")


def test_an_anonymous_caller_hears_only_ok_false(client, monkeypatch, caplog):
    """psycopg's and redis's errors name hosts, ports and database users."""
    monkeypatch.setattr(health, "_redis", _redis_down_with_details)
    for path in ("/healthz", "/healthz/ready"):
        response = client.get(path)
        assert response.status_code == 503
        assert response.json()["redis"]["ok"] is False
        assert "redis.internal" not in response.content.decode()
    assert "redis.internal" in caplog.text  # the operator finds it in the log


def test_the_metrics_token_or_an_admin_sees_the_detail(client, monkeypatch, settings, make_user):
    monkeypatch.setattr(health, "_redis", _redis_down_with_details)
    settings.METRICS_TOKEN = "scrape-me-7f3a"
    response = client.get("/healthz", headers={"Authorization": "Bearer scrape-me-7f3a"})
    assert "redis.internal" in response.json()["redis"]["detail"]
    response = client.get("/healthz", headers={"Authorization": "Bearer wrong"})
    assert "redis.internal" not in response.content.decode()
    client.force_login(make_user(username="boss", role="admin"))
    assert "redis.internal" in client.get("/healthz/ready").json()["redis"]["detail"]


def test_a_signed_in_caller_hears_the_answer_while_the_database_is_down(client, monkeypatch, make_user):
    """Whether the caller is an admin is asked of the session, in the database."""
    from django.contrib.sessions.backends.db import SessionStore

    client.force_login(make_user(username="boss", role="admin"))

    def down(self, *args, **kwargs):
        raise RuntimeError("database at db.internal:5432 is down")

    monkeypatch.setattr(SessionStore, "load", down)
    monkeypatch.setattr(health, "_database", lambda: down(None))
    response = client.get("/healthz/ready")
    assert response.status_code == 503 and response.json()["database"] == {
        "ok": False,
        "ms": response.json()["database"]["ms"],
    }
