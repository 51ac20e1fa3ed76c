import uuid

import pytest


@pytest.fixture
def metrics_prefix(settings):
    """This test's own counters: a fresh key prefix, its keys removed after."""
    from core.telemetry.store import client

    settings.METRICS_REDIS_PREFIX = f"test-metrics-{uuid.uuid4().hex[:12]}"
    yield settings.METRICS_REDIS_PREFIX
    keys = list(client().scan_iter(match=f"{settings.METRICS_REDIS_PREFIX}:*"))
    if keys:
        client().delete(*keys)


@pytest.fixture
def admin(make_user):
    return make_user(username="root", role="admin")
