"""The local model backends one process holds, at most a few at once.

Chat answers with the version each conversation picked, the arena with two,
labeling with several: each version loaded stays in memory (a GPU's, often)
until it is let go, so the process keeps the `max_loaded` used most
recently and lets the oldest go when another loads. A backend let go while
answers still stream from it finishes them first and is closed after the
last (a closed backend's threads stop, so its weights can be freed); an
answer that took a backend just before it was let go, and had not started
streaming yet, loads it again rather than write with a closed one.

Loading one version does not hold up answers from the versions already
loaded: only the bookkeeping is under the lock, and answers waiting for the
same version share its one load."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator

logger = logging.getLogger(__name__)


class _Loaded:
    """One loaded backend: how many streams read from it, and whether it
    was let go (evicted) and closed."""

    __slots__ = ("backend", "streams", "evicted", "closed")

    def __init__(self, backend):
        self.backend = backend
        self.streams = 0
        self.evicted = False
        self.closed = False


class LoadedBackends:
    """`load(path)` builds a backend; `max_loaded()` says how many to keep
    (read on each load, so a test or a settings change takes effect)."""

    def __init__(self, load: Callable[[str], object], max_loaded: Callable[[], int]):
        self._load = load
        self._max_loaded = max_loaded
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Loaded] = OrderedDict()
        self._loading: dict[str, threading.Event] = {}

    def get(self, path: str) -> LeasedBackend:
        return LeasedBackend(self, path, self._entry(path))

    def loaded_paths(self) -> list[str]:
        """The paths held, least recently used first."""
        with self._lock:
            return list(self._entries)

    def _entry(self, path: str) -> _Loaded:
        while True:
            with self._lock:
                entry = self._entries.get(path)
                if entry is not None:
                    self._entries.move_to_end(path)
                    return entry
                loading = self._loading.get(path)
                if loading is None:
                    self._loading[path] = threading.Event()
                    break
            loading.wait()  # another thread loads it; take it then (or load it here if that failed)
        try:
            backend = self._load(path)
        except BaseException:
            with self._lock:
                self._loading.pop(path).set()
            raise
        entry = _Loaded(backend)
        with self._lock:
            self._entries[path] = entry
            self._loading.pop(path).set()
            idle = self._evict_locked()
        for old in idle:
            _close(old)
        return entry

    def _evict_locked(self) -> list[_Loaded]:
        """Lets the least recently used go past the limit; returns those no
        stream reads from, to close now (the others close after their
        last stream)."""
        idle = []
        while len(self._entries) > max(1, self._max_loaded()):
            path, entry = self._entries.popitem(last=False)
            logger.info("Letting the model at %s go (%d streams still reading)", path, entry.streams)
            entry.evicted = True
            if entry.streams == 0:
                entry.closed = True
                idle.append(entry)
        return idle

    def _stream_start(self, path: str, entry: _Loaded) -> _Loaded:
        while True:
            with self._lock:
                if not entry.closed:
                    entry.streams += 1
                    return entry
            entry = self._entry(path)

    def _stream_end(self, entry: _Loaded) -> None:
        with self._lock:
            entry.streams -= 1
            closing = entry.evicted and entry.streams == 0 and not entry.closed
            if closing:
                entry.closed = True
        if closing:
            _close(entry)


def _close(entry: _Loaded) -> None:
    close = getattr(entry.backend, "close", None)
    if close is not None:
        close()


class LeasedBackend:
    """What version_backend hands out: streams like the backend, and counts
    them, so the backend is not closed under an answer."""

    def __init__(self, backends: LoadedBackends, path: str, entry: _Loaded):
        self._backends = backends
        self._entry = entry
        self.path = path
        self.model_path = getattr(entry.backend, "model_path", path)

    @property
    def backend(self):
        return self._entry.backend

    def stream(self, messages, params, should_stop):
        entry = self._backends._stream_start(self.path, self._entry)
        self._entry = entry
        try:
            stream = entry.backend.stream(messages, params, should_stop)
        except BaseException:
            self._backends._stream_end(entry)
            raise
        stream.deltas = _CountedDeltas(stream.deltas, lambda: self._backends._stream_end(entry))
        return stream


class _CountedDeltas:
    """The stream's deltas; releases its backend once, when they run out,
    fail, are closed, or are dropped unread (a generator dropped before its
    first item never runs its `finally`, so this is a class)."""

    def __init__(self, deltas: Iterator[str], release: Callable[[], None]):
        self._deltas = deltas
        self._release = release
        self._released = False

    def __iter__(self):
        return self

    def __next__(self) -> str:
        try:
            return next(self._deltas)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._released:
            return
        self._released = True
        close = getattr(self._deltas, "close", None)
        if close is not None:
            close()
        self._release()

    def __del__(self):
        self.close()
