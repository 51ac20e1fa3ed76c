"""Group sends to the channel layer from synchronous code (Celery tasks,
services), over one long-lived event loop per process.

`async_to_sync(layer.group_send)` called from a thread with no event loop
starts a new loop in a new thread for every call, and channels_redis keeps
its Redis connections per loop, so each streamed delta paid for a thread, a
loop and a fresh TCP connection to Redis. Profiling the worker showed
hundreds of short-lived threads per answer, and the answer streamed at two
thirds of the model's speed. Here one daemon thread runs one loop for the
process, and every send reuses its connection pool.
"""

from __future__ import annotations

import asyncio
import os
import threading

from channels.layers import get_channel_layer

_SEND_TIMEOUT_SECONDS = 30.0

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid: int | None = None


def _send_loop() -> asyncio.AbstractEventLoop:
    """The process's sending loop, started on first use (and again in a
    forked child, which inherits the loop object but not its thread)."""
    global _loop, _loop_pid
    with _lock:
        if _loop is None or _loop_pid != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="channel-layer-send", daemon=True).start()
            _loop, _loop_pid = loop, os.getpid()
        return _loop


def group_send(group: str, message: dict) -> None:
    """Sends and waits until the layer has taken the message."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("group_send blocks: from async code, await the channel layer's group_send instead.")
    future = asyncio.run_coroutine_threadsafe(get_channel_layer().group_send(group, message), _send_loop())
    future.result(timeout=_SEND_TIMEOUT_SECONDS)
