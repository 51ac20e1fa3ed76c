"""One wait for what another process or thread does: poll a predicate until
it holds, and fail naming what did not happen. Polling, not sleeping a
guessed time, keeps a slow machine from failing a test."""

import asyncio
import time


def eventually(predicate, *, what: str, timeout: float = 60.0, interval: float = 0.1):
    """Calls `predicate` every `interval` seconds until it returns something
    true, and returns that. After `timeout` seconds the test fails, saying
    `what` did not happen. An exception the predicate raises (a process
    that died) ends the wait at once."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout} s (last {value!r})")
        time.sleep(interval)


async def eventually_async(predicate, *, what: str, timeout: float = 60.0, interval: float = 0.05):
    """`eventually` for async tests, with a coroutine function as predicate:
    the event loop keeps running while it waits."""
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout} s (last {value!r})")
        await asyncio.sleep(interval)
