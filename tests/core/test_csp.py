"""The Content-Security-Policy header (core/csp.py). That every page
works under it (tests/browser/test_pages.py), and that no payload gets past
it (tests/browser/test_xss.py), is checked in a browser."""

import pytest

from core.markdown import render_markdown

pytestmark = pytest.mark.django_db


def _directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


def test_pages_run_only_their_own_scripts(client):
    directives = _directives(client.get("/accounts/login/"))
    assert directives["script-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"] and directives["base-uri"] == ["'none'"]
    assert directives["form-action"] == ["'self'"] and directives["frame-ancestors"] == ["'none'"]


def test_pages_take_styles_only_from_their_own_files(client):
    """No `<style>` block and no `style=` attribute applies: a payload's
    markup cannot restyle the page (say, to dress a link as a button)."""
    directives = _directives(client.get("/accounts/login/"))
    assert directives["style-src"] == ["'self'"]


def test_markdown_tables_say_their_alignment_with_classes():
    html = render_markdown("| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |")
    assert "style=" not in html
    assert html.count('class="align-center"') == 2 and html.count('class="align-right"') == 2


def test_the_pages_websockets_are_allowed_on_their_own_host(client):
    directives = _directives(client.get("/accounts/login/", HTTP_HOST="localhost"))
    assert directives["connect-src"] == ["'self'", "ws://localhost", "wss://localhost"]


def test_json_answers_carry_the_policy_too(client, user):
    client.force_login(user)
    response = client.get("/api/conversations/")
    assert response.status_code == 200 and "script-src 'self'" in response["Content-Security-Policy"]
