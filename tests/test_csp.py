"""The Content-Security-Policy header (core/csp.py). That every page
works under it, and that no payload gets past it, is checked in a browser by
tests/browser/test_xss.py."""
import pytest

pytestmark = pytest.mark.django_db


def _directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


def test_pages_run_only_their_own_scripts(client):
    directives = _directives(client.get("/accounts/login/"))
    assert directives["script-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"] and directives["base-uri"] == ["'none'"]
    assert directives["form-action"] == ["'self'"] and directives["frame-ancestors"] == ["'none'"]


def test_the_pages_websockets_are_allowed_on_their_own_host(client):
    directives = _directives(client.get("/accounts/login/", HTTP_HOST="localhost"))
    assert directives["connect-src"] == ["'self'", "ws://localhost", "wss://localhost"]


def test_json_answers_carry_the_policy_too(client, user):
    client.force_login(user)
    response = client.get("/api/conversations/")
    assert response.status_code == 200 and "script-src 'self'" in response["Content-Security-Policy"]
