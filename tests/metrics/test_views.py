"""Who may read /metrics, and what they get."""

import pytest
from prometheus_client import CONTENT_TYPE_LATEST

pytestmark = pytest.mark.django_db


def test_anonymous_is_asked_for_credentials(client):
    response = client.get("/metrics")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")


def test_a_plain_user_is_refused(client, user):
    client.force_login(user)
    assert client.get("/metrics").status_code == 403


def test_an_admin_reads_the_metrics(client, admin):
    client.force_login(admin)
    response = client.get("/metrics")
    assert response.status_code == 200 and response["Content-Type"] == CONTENT_TYPE_LATEST
    assert b"# TYPE chatsite_training_jobs gauge" in response.content


def test_the_token_lets_prometheus_in(client, settings):
    settings.METRICS_TOKEN = "scrape-me-7f3a"
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me-7f3a")
    assert response.status_code == 200 and b"chatsite_redis_up 1.0" in response.content


@pytest.mark.parametrize("configured", ["scrape-me-7f3a", ""])
def test_a_wrong_token_is_refused(client, settings, admin, configured):
    """A request with a token is judged by it alone, even from an admin's
    session; with no token configured, none is accepted, not even empty."""
    settings.METRICS_TOKEN = configured
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me-7f3b").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403
    client.force_login(admin)
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 403


def test_only_get_is_allowed(client, admin):
    client.force_login(admin)
    assert client.post("/metrics").status_code == 405
