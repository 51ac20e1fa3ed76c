"""The consumers' database threads (core.db) give their pooled connections
back after each call, also under the suite's own WebSocket client (which
would otherwise keep one per thread for the rest of the run)."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from django.db import connections

from ..helpers.sockets import connect, send_message

pytestmark = [pytest.mark.django_db(transaction=True)]


def connections_in_use() -> int:
    stats = connections["default"].pool.get_stats()
    return stats["pool_size"] - stats["pool_available"]


async def test_sockets_sending_at_once_leave_no_connection_taken(make_user, captured_tasks):
    if connections["default"].vendor != "postgresql":
        pytest.skip("the connection pool is PostgreSQL's")
    users = [await database_sync_to_async(make_user)(username=f"sender{i}") for i in range(4)]
    before = await database_sync_to_async(connections_in_use)()

    async def send(user):
        communicator, allowed, _ = await connect(user)
        assert allowed
        await send_message(communicator, "hello", settings={"max_new_tokens": 4})
        await communicator.disconnect()

    await asyncio.gather(*(send(user) for user in users))
    assert await database_sync_to_async(connections_in_use)() == before
