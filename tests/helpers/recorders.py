"""Recorders for what services send out of the process, a seam like
Zulip's `capture_send_event_calls`: a test asserts what would have been
sent instead of running a worker or listening on the channel layer."""

from contextlib import contextmanager
from dataclasses import dataclass


def record_chat_tasks(monkeypatch) -> list[tuple[str, int]]:
    """Records the chat tasks services would send to Celery, as ("moderate",
    message id) and ("generate", answer id), instead of sending them; the
    tests that use it run no worker."""
    from chat import dispatch

    sent = []

    def recorder(kind):
        def send(message_id: int) -> bool:
            sent.append((kind, message_id))
            return True  # what dispatch says when the broker took the task

        return send

    monkeypatch.setattr(dispatch, "moderation_dispatch", recorder("moderate"))
    monkeypatch.setattr(dispatch, "generation_dispatch", recorder("generate"))
    return sent


@dataclass(frozen=True)
class Broadcast:
    """One group send: the group (e.g. `conv.12`) and the event the sockets
    in it receive."""

    group: str
    event: dict


def broadcasts_capturer(monkeypatch, capture_on_commit_callbacks):
    """`with capture() as events:` records the broadcasts the block makes,
    running its on-commit callbacks as the block ends (tests run inside a
    transaction that never commits), so a broadcast sent on commit appears
    only then."""
    from core import broadcast

    events: list[Broadcast] = []
    monkeypatch.setattr(broadcast, "group_send", lambda group, event: events.append(Broadcast(group, event)))

    @contextmanager
    def capture():
        events.clear()
        with capture_on_commit_callbacks(execute=True):
            yield events

    return capture
