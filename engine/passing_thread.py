"""Runs torch work from long-lived threads without leaving OpenMP teams
behind.

A thread that has run torch's OpenMP-parallel kernels (a forward pass, or
loading weights) keeps an idle OpenMP team for as long as it lives. Once a
process holds more team threads than the machine has cores, libgomp cuts
every team's spin-wait short, and each small kernel of the chat model's
decoding step then waits for its helper thread to wake up. Measured on this
2-core machine: after one input moderation in a Celery pool thread, the chat
model in the same worker decoded 18.5 tokens/s instead of 32, until that pool
thread ended. Work done in a thread that ends with it leaves no team, but a
new thread pays for its first torch call (about 4 ms more for a MiniLM
forward of 2.5 ms), so frequent small work (the moderation classifier) goes
there only in a process that also serves a chat model.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_serving_chat_model = threading.Event()


def mark_serving_chat_model() -> None:
    """Called once a local chat model is loaded in this process."""
    _serving_chat_model.set()


def beside_chat_model(function: Callable[[], T], name: str = "torch-call") -> T:
    """`function()` in a passing thread when this process serves a local
    chat model, whose decoding an idle OpenMP team would slow; else in the
    calling thread, which is faster."""
    if _serving_chat_model.is_set():
        return in_passing_thread(function, name)
    return function()


def in_passing_thread(function: Callable[[], T], name: str = "torch-call") -> T:
    """`function()` in a new thread that ends when it returns; its result
    or exception comes back to the caller."""
    outcome: list[tuple[bool, object]] = []

    def run():
        try:
            outcome.append((True, function()))
        except BaseException as error:  # re-raised in the caller's thread
            outcome.append((False, error))

    thread = threading.Thread(target=run, name=name)
    thread.start()
    thread.join()
    succeeded, value = outcome[0]
    if not succeeded:
        raise value
    return value
