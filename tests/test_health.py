import pytest

pytestmark = pytest.mark.django_db


def test_health_reports_each_part(client):
    body = client.get("/healthz").json()
    assert body["database"]["ok"] and body["redis"]["ok"]
    assert set(body["queues"]) == {"moderation", "generation", "training"}


@pytest.mark.integration
def test_health_sees_a_running_worker(client, celery_worker):
    body = client.get("/healthz").json()
    assert body["queues"]["moderation"]["workers"] >= 1 and body["queues"]["generation"]["workers"] >= 1
    # No training worker runs in the tests, so the app is reported degraded.
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["status"] == "degraded"
