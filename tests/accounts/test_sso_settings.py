"""Single sign-on providers come from the environment alone, and each shows
on the login page (and in its CSP form-action, which the browser holds the
redirect to the provider to) only once configured."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_VARIABLES = ("OIDC_", "GITHUB_", "GOOGLE_")


def _providers(**env) -> dict:
    """SOCIALACCOUNT_PROVIDERS' apps as chatsite/settings.py reads them from `env`."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(PROVIDER_VARIABLES)}
    environment.update(env)
    code = (
        "import json; from chatsite import settings as s; "
        "print(json.dumps({name: c['APPS'] for name, c in s.SOCIALACCOUNT_PROVIDERS.items()}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def test_no_provider_is_configured_unless_the_environment_says_so():
    assert _providers() == {"openid_connect": [], "github": [], "google": []}


def test_each_provider_reads_its_client_from_the_environment():
    apps = _providers(
        OIDC_PROVIDER_ID="keycloak",
        OIDC_PROVIDER_NAME="Keycloak",
        OIDC_SERVER_URL="https://sso.example.org/realms/staff",
        OIDC_CLIENT_ID="chatsite",
        OIDC_CLIENT_SECRET="from-the-env",
        GITHUB_CLIENT_ID="gh-id",
        GITHUB_CLIENT_SECRET="gh-secret",
    )
    assert apps["openid_connect"] == [
        {
            "provider_id": "keycloak",
            "name": "Keycloak",
            "client_id": "chatsite",
            "secret": "from-the-env",
            "settings": {"server_url": "https://sso.example.org/realms/staff"},
        }
    ]
    assert apps["github"] == [{"client_id": "gh-id", "secret": "gh-secret"}]
    assert apps["google"] == []


def test_the_login_page_shows_only_configured_providers(client, settings):
    page = client.get("/accounts/login/")
    assert b'data-testid="sso-providers"' not in page.content
    assert "form-action 'self';" in page["Content-Security-Policy"]

    settings.SOCIALACCOUNT_PROVIDERS = dict(
        settings.SOCIALACCOUNT_PROVIDERS, github={"APPS": [{"client_id": "gh-id", "secret": "gh-secret"}]}
    )
    page = client.get("/accounts/login/")
    assert b'data-testid="sso-github"' in page.content and b"Sign in with GitHub" in page.content
    assert "form-action 'self' https://github.com;" in page["Content-Security-Policy"]
    # The provider's button posts to this site, which redirects to GitHub.
    response = client.post("/accounts/github/login/")
    assert response.status_code == 302 and response["Location"].startswith("https://github.com/login/oauth/authorize?")
    # Pages outside /accounts/ lead nowhere else.
    assert "form-action 'self';" in client.get("/healthz")["Content-Security-Policy"]


def test_an_unconfigured_provider_has_no_pages(client):
    assert client.get("/accounts/google/login/").status_code == 404
    assert client.post("/accounts/google/login/").status_code == 404
