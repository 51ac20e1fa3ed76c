"""A thread of a test's own that uses the database."""

import threading

from django.db import connection


def database_thread(target, **kwargs) -> threading.Thread:
    """Started at once, `target(**kwargs)` in it; its connection goes back to
    the pool when it ends, as the Celery worker's threads give theirs back.
    A thread that ends holding one keeps it out of the pool for the rest of
    the run."""

    def run():
        try:
            target(**kwargs)
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=getattr(target, "__name__", None))
    thread.start()
    return thread
