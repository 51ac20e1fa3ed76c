"""HTTP requests and WebSocket connections are counted where they enter."""

import time

import pytest
from channels.db import database_sync_to_async

from ..helpers.polling import eventually_async
from ..helpers.sockets import connect
from .helpers import value


@pytest.mark.django_db
def test_requests_are_counted_by_view_and_status(client, admin, metrics_prefix):
    for _ in range(3):
        assert client.get("/accounts/login/").status_code == 200
    assert client.get("/no/such/page/").status_code == 404
    assert value("chatsite_http_requests_total", method="GET", view="login", status="200") == 3
    assert value("chatsite_http_request_duration_seconds_count", method="GET", view="login") == 3
    assert value("chatsite_http_request_duration_seconds_sum", method="GET", view="login") > 0
    assert value("chatsite_http_requests_total", method="GET", view="unmatched", status="404") == 1


@pytest.mark.django_db
def test_scrapes_are_not_counted(client, admin, metrics_prefix):
    client.force_login(admin)
    for _ in range(2):
        assert b'view="metrics"' not in client.get("/metrics").content


@pytest.mark.django_db
def test_a_request_succeeds_while_redis_is_down(client, admin, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    started = time.perf_counter()
    assert client.get("/accounts/login/").status_code == 200
    assert time.perf_counter() - started < 2
    client.force_login(admin)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert b"chatsite_redis_up 0.0" in response.content and b"chatsite_training_jobs{" in response.content


async def _chat_sockets_counted() -> float:
    return await database_sync_to_async(value)("chatsite_websocket_connections", route="chat")


@pytest.mark.django_db(transaction=True)
async def test_an_open_socket_is_counted_until_it_closes(user, metrics_prefix):
    communicator, connected, _ = await connect(user)
    assert connected
    try:
        open_now = await eventually_async(_chat_sockets_counted, timeout=10, what="the open socket counted")
    finally:
        await communicator.disconnect()

    async def one_less():
        return await _chat_sockets_counted() == open_now - 1

    await eventually_async(one_less, timeout=10, what="the closed socket no longer counted")
    total = await database_sync_to_async(value)("chatsite_websocket_connections_total", route="chat")
    assert total == 1
