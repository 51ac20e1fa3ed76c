"""Retrying a transaction that SQLite refused with "database is locked".

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
