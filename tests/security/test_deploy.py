"""The production profile passes Django's deployment checks, refuses to
start without its secrets, and every state-changing route checks CSRF."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from .test_authorization_matrix import ROUTES

ROOT = Path(__file__).resolve().parents[2]
# The OpenAI API authenticates each request by its API key, never a cookie,
# so a forged cross-site request carries no credential to abuse.
# /v1 authenticates by API key, not cookie. Google's sign-in by token
# (allauth) is posted by Google's own script: allauth checks Google's
# double-submit g_csrf_token cookie instead of Django's token.
CSRF_EXEMPT = {"openai-models", "openai-chat-completions", "google_login_by_token"}


def _check_deploy(**env) -> subprocess.CompletedProcess:
    environment = {
        key: value for key, value in os.environ.items() if key not in ("SECRET_KEY", "ALLOWED_HOSTS", "HTTPS")
    }
    environment.update(DJANGO_SETTINGS_MODULE="chatsite.settings_production", **env)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_profile_passes_check_deploy():
    result = _check_deploy(SECRET_KEY=secrets.token_urlsafe(60), ALLOWED_HOSTS="chat.example.com")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "env,message",
    [
        ({"ALLOWED_HOSTS": "chat.example.com"}, "Set SECRET_KEY in the environment"),
        ({"SECRET_KEY": "k" * 60}, "Set ALLOWED_HOSTS in the environment"),
    ],
)
def test_production_profile_refuses_to_start_without_its_secrets(env, message):
    result = _check_deploy(**env)
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(set(ROUTES) - CSRF_EXEMPT))
def test_every_route_refuses_a_post_without_csrf_token(make_user, name):
    admin = make_user(username="admin", role="admin")
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    route = ROUTES[name]
    kwargs = {name: (1 if converter == "int" else "md") for converter, name in re.findall(r"<(?:(\w+):)?(\w+)>", route)}
    response = client.post(reverse(name, kwargs=kwargs), {"content": "x"})
    assert response.status_code == 403 and b"CSRF" in response.content, response.status_code
