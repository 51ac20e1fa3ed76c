"""Who may read /metrics: Prometheus, sending METRICS_TOKEN as a bearer
token, and signed-in admins. With no token set, no token is accepted."""

import secrets

from django.conf import settings


def bearer_token(request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def can_read_metrics(request) -> bool:
    """A request that sends a token is judged by the token alone."""
    token = bearer_token(request)
    if token is not None:
        expected = settings.METRICS_TOKEN
        return bool(expected) and secrets.compare_digest(token.encode(), expected.encode())
    return request.user.is_authenticated and request.user.is_admin
