"""Database calls: retrying a transaction that SQLite refused with "database
is locked", and running the async consumers' calls on a pool of threads.

In WAL mode a transaction that has read and then tries to write, while
another process committed a write meanwhile, is refused at once: waiting
(the busy timeout) cannot help, since its snapshot is stale. Running the
whole transaction again can. Sixteen users sending at once on the default
SQLite database hit this (the WebSocket closed with an internal error).
PostgreSQL never raises it, and nothing is retried there.
"""

from __future__ import annotations

import functools
import random
import time
from concurrent.futures import ThreadPoolExecutor

from channels.db import DatabaseSyncToAsync
from django.conf import settings
from django.db import OperationalError, connection

_ATTEMPTS = 5


def retry_if_locked(function):
    """Runs `function` (an outermost `transaction.atomic` unit) again, after a
    short random pause, when SQLite says the database is locked; the failed
    attempt was rolled back and its on_commit callbacks dropped."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                return function(*args, **kwargs)
            except OperationalError as error:
                retryable = (
                    connection.vendor == "sqlite"
                    and "database is locked" in str(error)
                    and not connection.in_atomic_block
                    and attempt < _ATTEMPTS
                )
                if not retryable:
                    raise
                time.sleep(random.uniform(0.01, 0.05) * attempt)

    return wrapper


def _database_executor() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=settings.WEB_DATABASE_THREADS, thread_name_prefix="database")
    return _executor


_executor: ThreadPoolExecutor | None = None


def database_sync_to_async(function):
    """Channels' `database_sync_to_async` (old connections closed around the
    call, so a pooled one goes back to the pool), run on a pool of
    WEB_DATABASE_THREADS threads instead of the process's one
    thread-sensitive thread. There, every socket's database work waited in
    one queue: a slow query of one socket stalled all the others, and at
    200 sockets sending 20 messages a second answers waited 18-34 s
    (bench/load.py). Safe because each call is a whole unit of work (its
    own transaction, no connection state carried between calls) and one
    socket's frames are handled one after another."""
    return DatabaseSyncToAsync(function, thread_sensitive=False, executor=_database_executor())
