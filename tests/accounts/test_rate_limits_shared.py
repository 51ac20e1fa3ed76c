"""allauth's own rate limits (sign-ups, reset and confirmation emails)
count in Django's cache, which is Redis: every web process reads the same
count, where a count in one process's memory would let N processes allow N
times each limit."""

import pytest
from django.test import Client

from core.redis_client import redis_client

pytestmark = pytest.mark.django_db


def _delete(pattern: str) -> None:
    client = redis_client()
    for key in client.scan_iter(pattern):
        client.delete(key)


@pytest.fixture
def one_reset_a_minute(settings):
    """The key pattern of allauth's reset count, at one reset a minute."""
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "reset_password": "1/m/ip"}
    pattern = f"{settings.CACHES['default']['KEY_PREFIX']}:*:allauth:rl:*:reset_password:*"
    _delete(pattern)
    yield pattern
    _delete(pattern)


def test_a_reset_limit_counts_in_redis_for_every_process(one_reset_a_minute):
    first, second = Client(), Client()
    assert first.post("/accounts/password/reset/", {"email": "alice@example.com"}).status_code == 302
    assert redis_client().keys(one_reset_a_minute), "the count is in Redis, where every web process reads it"
    # Another client from the same address (the test client's 127.0.0.1),
    # as it would reach another web process behind the balancer.
    assert second.post("/accounts/password/reset/", {"email": "bob@example.com"}).status_code == 429
