import pytest

pytestmark = pytest.mark.django_db


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
