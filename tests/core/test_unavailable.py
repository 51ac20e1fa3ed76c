"""Redis down on a request that needs it (allauth's rate limits count in the
cache): a 503 that names what is missing and when to retry, as the database
down is (tests/faults/test_database_down.py), not a 500."""

import pytest
from django.test import Client

from core.unavailable import REDIS_UNAVAILABLE_MESSAGE, UNAVAILABLE_MESSAGE, unavailable_message

from ..processes import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }


@pytest.mark.parametrize(
    "path, data",
    [
        ("/accounts/signup/", {"username": "carol", "password1": "a long phrase", "password2": "a long phrase"}),
        ("/accounts/password/reset/", {"email": "carol@example.com"}),
    ],
)
def test_a_form_that_counts_in_the_cache_says_503_with_redis_down(cache_down, path, data):
    response = Client(raise_request_exception=False).post(path, data)
    assert response.status_code == 503 and response["Retry-After"] == "5"
    body = response.content.decode()
    assert REDIS_UNAVAILABLE_MESSAGE in body and "Traceback" not in body


def test_only_outages_are_503s():
    from django.db import OperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError

    assert unavailable_message(OperationalError("gone")) == UNAVAILABLE_MESSAGE
    assert unavailable_message(RedisConnectionError("gone")) == REDIS_UNAVAILABLE_MESSAGE
    assert unavailable_message(ValueError("a bug")) is None
