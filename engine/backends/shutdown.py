"""Stops the engine's model threads before the interpreter finalizes.

A daemon thread that is still inside a torch op when Python exits aborts the
whole process ("terminate called without an active exception"): the op
returns, asks a finalizing interpreter for the GIL, and the thread is
unwound through a `noexcept` C++ frame. `atexit` hooks run before that,
while daemon threads still run, so the engine's threads are asked to stop
there and waited for. A test run, a Celery worker or a bench that exits
while an answer is being written then exits cleanly.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from collections.abc import Callable

_JOIN_SECONDS = 10.0

exiting = threading.Event()
_threads: weakref.WeakSet[threading.Thread] = weakref.WeakSet()
_closers: list[weakref.WeakMethod] = []
_lock = threading.Lock()


def start_model_thread(target: Callable[[], None], name: str) -> threading.Thread:
    """Starts a daemon thread that runs the model. Its loop must end soon
    after `exiting` is set; the process waits for it at exit."""
    thread = threading.Thread(target=target, name=name, daemon=True)
    with _lock:
        _threads.add(thread)
    thread.start()
    return thread


def close_at_exit(close: Callable[[], None]) -> None:
    """Calls a backend's bound `close` method at exit, unless the backend
    was freed before."""
    with _lock:
        _closers.append(weakref.WeakMethod(close))


@atexit.register
def _stop_model_threads() -> None:
    exiting.set()
    with _lock:
        closers, threads = [ref() for ref in _closers], list(_threads)
    for close in closers:
        if close is not None:
            close()
    for thread in threads:
        if thread is not threading.current_thread():
            thread.join(timeout=_JOIN_SECONDS)
