"""Starts the test provider (serve.py) for a test, and says how the app is
configured to use it."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from ..processes import Process, free_port, port_open

CLIENT_ID = "chatsite-test-client"
CLIENT_SECRET = "chatsite-test-secret"  # a test provider's, on loopback only
PROVIDER_ID = "test-idp"
PROVIDER_NAME = "Test IdP"


@dataclass
class ProviderUser:
    username: str
    password: str
    email: str


def start_oidc_provider(
    *, redirect_uris: list[str], user: ProviderUser, log_dir: Path, name: str = "oidc-provider"
) -> tuple[Process, str]:
    """The provider on a free loopback port; (process, its issuer URL)."""
    port = free_port()
    data_dir = log_dir / f"{name}-data"
    data_dir.mkdir(exist_ok=True)
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "tests.oidc_provider.settings",
        "OIDC_PROVIDER_DATA_DIR": str(data_dir),
        "OIDC_PROVIDER_PORT": str(port),
        "OIDC_PROVIDER_CLIENT_ID": CLIENT_ID,
        "OIDC_PROVIDER_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_PROVIDER_REDIRECT_URIS": " ".join(redirect_uris),
        "OIDC_PROVIDER_USERNAME": user.username,
        "OIDC_PROVIDER_PASSWORD": user.password,
        "OIDC_PROVIDER_EMAIL": user.email,
        "PYTHONUNBUFFERED": "1",
    }
    process = Process(
        name,
        [sys.executable, "-m", "tests.oidc_provider.serve"],
        env,
        log_dir,
        ready=lambda output: port_open(port),
    )
    process.wait_for(lambda: port_open(port))
    return process, f"http://127.0.0.1:{port}"


def app_provider_settings(server_url: str) -> dict:
    """The app's SOCIALACCOUNT_PROVIDERS entry for this provider, as
    chatsite/settings.py builds it from OIDC_* in the environment."""
    return {
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [
            {
                "provider_id": PROVIDER_ID,
                "name": PROVIDER_NAME,
                "client_id": CLIENT_ID,
                "secret": CLIENT_SECRET,
                "settings": {"server_url": server_url},
            }
        ],
    }


def app_environment(server_url: str) -> dict:
    """The same, as the environment of the app's web process."""
    return {
        "OIDC_PROVIDER_ID": PROVIDER_ID,
        "OIDC_PROVIDER_NAME": PROVIDER_NAME,
        "OIDC_SERVER_URL": server_url,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
    }
