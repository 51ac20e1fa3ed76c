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


@pytest.fixture
def embed_threads(monkeypatch):
    """The threads the classifier's forwards run in, in a process that
    serves no chat model until the test says so."""
    from engine import passing_thread
    from moderation.classifier import embedder as module

    monkeypatch.setattr(passing_thread, "_serving_chat_model", threading.Event())
    threads = []
    original = module.Embedder._embed_windows

    def spy(self, *args):
        threads.append(threading.current_thread())
        return original(self, *args)

    monkeypatch.setattr(module.Embedder, "_embed_windows", spy)
    embedder = module.get_embedder()
    windows, _ = embedder.windows(["hello there"], max_tokens=32, stride=24)

    def embed():
        assert embedder.embed_windows(windows, [6]).shape == (1, embedder.hidden_size)
        return threads[-1]

    return embed


def test_the_classifier_embeds_in_the_callers_thread_without_a_chat_model(embed_threads):
    assert embed_threads() is threading.current_thread()


def test_beside_a_chat_model_the_classifier_embeds_in_a_passing_thread(embed_threads):
    from engine.passing_thread import mark_serving_chat_model

    mark_serving_chat_model()
    thread = embed_threads()
    assert thread is not threading.current_thread() and not thread.is_alive()


def test_loading_a_chat_model_marks_the_process(monkeypatch, tiny_model_dir):
    from engine import passing_thread
    from engine.backends import load_local_backend

    monkeypatch.setattr(passing_thread, "_serving_chat_model", threading.Event())
    load_local_backend(str(tiny_model_dir), engine="generate", device="cpu")
    assert passing_thread._serving_chat_model.is_set()
