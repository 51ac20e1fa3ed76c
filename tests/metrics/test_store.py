"""The shared counters in Redis: never in the way, and no drift from dead processes."""

import json

import pytest

from core.telemetry.instruments import HTTP_REQUESTS, generation_record
from core.telemetry.store import client, key

from .helpers import value

pytestmark = pytest.mark.django_db


def test_recording_with_redis_down_drops_the_sample(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    generation_record(completion_tokens=3, ttft_seconds=0.1, tokens_per_second=20.0)


def test_a_label_set_must_be_whole():
    with pytest.raises(ValueError):
        HTTP_REQUESTS.sample(method="GET", view="login")


def test_a_dead_processs_connections_stop_counting(metrics_prefix):
    """Each process publishes its own count with a key that marks it alive;
    one whose mark expired (it died) is left out and its fields dropped."""
    gauge = key("chatsite_websocket_connections")
    client().hset(gauge, mapping={json.dumps(["test", "live-host:2"]): 2, json.dumps(["test", "gone-host:1"]): 5})
    client().set(key("chatsite_websocket_connections:alive:live-host:2"), 1, ex=30)
    assert value("chatsite_websocket_connections", route="test") == 2
    assert [json.loads(field) for field in client().hkeys(gauge)] == [["test", "live-host:2"]]
