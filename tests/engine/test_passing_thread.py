"""Torch work from long-lived threads runs in a thread that ends with it
(engine/passing_thread.py says why)."""
import threading

import pytest

from engine.passing_thread import in_passing_thread


def test_returns_the_result_from_a_thread_that_has_ended():
    seen = []

    def work():
        seen.append(threading.current_thread())
        return 42

    assert in_passing_thread(work) == 42
    assert seen[0] is not threading.current_thread()
    assert not seen[0].is_alive()


def test_reraises_in_the_caller():
    def fail():
        raise ValueError("bad config")

    with pytest.raises(ValueError, match="bad config"):
        in_passing_thread(fail)


def test_the_moderation_classifier_embeds_in_a_passing_thread(monkeypatch):
    from moderation.classifier import embedder as module

    threads = []
    original = module.Embedder._embed_windows

    def spy(self, *args):
        threads.append(threading.current_thread())
        return original(self, *args)

    monkeypatch.setattr(module.Embedder, "_embed_windows", spy)
    embedder = module.get_embedder()
    windows, _ = embedder.windows(["hello there"], max_tokens=32, stride=24)
    assert embedder.embed_windows(windows, [6]).shape == (1, embedder.hidden_size)
    assert threads and threads[0] is not threading.current_thread() and not threads[0].is_alive()
