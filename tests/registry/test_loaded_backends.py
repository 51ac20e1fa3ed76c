"""The local backends a process holds (registry.loaded_backends): at most
CHAT_MODELS_MAX_LOADED, the least recently used let go first, and closed
only once no answer streams from it."""

import threading

import pytest

from engine.backends import GenerationStream, SamplingParams
from registry.loaded_backends import LoadedBackends
from registry.models import ModelVersion
from registry.serving import loaded_backends, version_backend


class RecordedBackend:
    """A backend that streams a fixed text and records that it was closed."""

    def __init__(self, path):
        self.model_path = path
        self.closed = False

    def stream(self, messages, params, should_stop):
        if self.closed:
            raise RuntimeError("streamed from a closed backend")
        return GenerationStream(deltas=iter(["a", "b"]))

    def close(self):
        self.closed = True


@pytest.fixture
def loads():
    return []


@pytest.fixture
def held(loads):
    def load(path):
        loads.append(path)
        return RecordedBackend(path)

    return LoadedBackends(load, lambda: 2)


def test_it_keeps_the_two_used_most_recently_and_closes_the_one_let_go(held, loads):
    first = held.get("/m/one").backend
    held.get("/m/two")
    held.get("/m/one")  # used again: "two" is now the oldest
    held.get("/m/three")
    assert held.loaded_paths() == ["/m/one", "/m/three"]
    assert loads == ["/m/one", "/m/two", "/m/three"], "a held backend is not loaded again"
    assert not first.closed


def test_a_backend_let_go_while_an_answer_streams_closes_after_that_answer(held):
    leased = held.get("/m/one")
    stream = leased.stream([], SamplingParams(), should_stop=lambda: False)
    held.get("/m/two")
    held.get("/m/three")
    assert "/m/one" not in held.loaded_paths()
    assert not leased.backend.closed, "closed under an answer being written"
    assert "".join(stream) == "ab"
    assert leased.backend.closed


def test_an_answer_dropped_unread_releases_its_backend(held):
    leased = held.get("/m/one")
    leased.stream([], SamplingParams(), should_stop=lambda: False)  # never read
    held.get("/m/two")
    held.get("/m/three")
    assert leased.backend.closed


def test_a_backend_taken_before_it_was_let_go_is_loaded_again_to_stream(held, loads):
    leased = held.get("/m/one")
    held.get("/m/two")
    held.get("/m/three")
    assert leased.backend.closed
    assert "".join(leased.stream([], SamplingParams(), should_stop=lambda: False)) == "ab"
    assert loads.count("/m/one") == 2 and not leased.backend.closed


def test_a_load_does_not_hold_up_a_backend_already_loaded():
    loading = threading.Event()
    release = threading.Event()

    def load(path):
        if path == "/m/slow":
            loading.set()
            release.wait(timeout=30)
        return RecordedBackend(path)

    held = LoadedBackends(load, lambda: 3)
    held.get("/m/fast")
    slow = threading.Thread(target=held.get, args=("/m/slow",))
    slow.start()
    assert loading.wait(timeout=30)
    try:
        assert held.get("/m/fast").model_path == "/m/fast"  # returns while /m/slow is still loading
        assert held.loaded_paths() == ["/m/fast"]
    finally:
        release.set()
        slow.join()
    assert held.loaded_paths() == ["/m/fast", "/m/slow"]


def test_answers_waiting_for_the_same_model_share_one_load():
    started = threading.Event()
    release = threading.Event()
    loads = []

    def load(path):
        loads.append(path)
        started.set()
        release.wait(timeout=30)
        return RecordedBackend(path)

    held = LoadedBackends(load, lambda: 2)
    threads = [threading.Thread(target=held.get, args=("/m/one",)) for _ in range(3)]
    for thread in threads:
        thread.start()
    assert started.wait(timeout=30)
    release.set()
    for thread in threads:
        thread.join()
    assert loads == ["/m/one"]


def test_a_failed_load_is_tried_again_by_the_next_answer():
    attempts = []

    def load(path):
        attempts.append(path)
        if len(attempts) == 1:
            raise OSError("disk hiccup")
        return RecordedBackend(path)

    held = LoadedBackends(load, lambda: 2)
    with pytest.raises(OSError):
        held.get("/m/one")
    assert held.get("/m/one").model_path == "/m/one"


@pytest.mark.django_db
def test_the_worker_holds_at_most_chat_models_max_loaded_real_models(settings, tmp_path):
    from engine.tiny import build_tiny_chat_model

    settings.CHAT_MODELS_MAX_LOADED = 1
    versions = [
        ModelVersion.objects.create(
            name=f"tiny-{seed}",
            kind="policy",
            source="trained",
            path=str(build_tiny_chat_model(tmp_path / f"m{seed}", never_ends=True, seed=seed)),
        )
        for seed in (1, 2)
    ]
    for version in versions:
        backend, _ = version_backend(version)
        stream = backend.stream([{"role": "user", "content": "Hi"}], SamplingParams(max_new_tokens=2), lambda: False)
        "".join(stream)
        assert stream.completion_tokens == 2
    assert loaded_backends.loaded_paths() == [versions[1].path]
