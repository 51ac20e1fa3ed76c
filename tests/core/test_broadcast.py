"""core/broadcast.py: sends from synchronous code share one event loop (and
so one Redis connection pool) per process."""

import asyncio
import threading

import pytest
from channels_redis.core import RedisChannelLayer
from django.conf import settings

from core import broadcast


def test_sends_from_several_threads_arrive_over_one_loop():
    # A layer of the test's own listens (the process's shared one keeps
    # locks bound to whichever loop used it first).
    layer = RedisChannelLayer(**settings.CHANNEL_LAYERS["default"]["CONFIG"])
    loops = []

    def send(n):
        broadcast.group_send("broadcast-test", {"type": "test.event", "n": n})
        loops.append(broadcast._send_loop())

    def send_from_threads():
        threads = [threading.Thread(target=send, args=(n,)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    async def scenario():
        channel = await layer.new_channel()
        await layer.group_add("broadcast-test", channel)
        await asyncio.to_thread(send_from_threads)
        return sorted([(await layer.receive(channel))["n"] for _ in range(3)])

    assert asyncio.run(scenario()) == [0, 1, 2]
    assert len({id(loop) for loop in loops}) == 1


def test_sending_from_async_code_is_refused():
    async def inside_a_loop():
        broadcast.group_send("broadcast-test", {"type": "test.event"})

    with pytest.raises(RuntimeError, match="await the channel layer"):
        asyncio.run(inside_a_loop())
