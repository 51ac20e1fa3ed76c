"""Where the numbers that several processes add to are kept: the Daphne
processes and the Celery workers, on any host, write to hashes in Redis
(REDIS_URL), one per metric family under METRICS_REDIS_PREFIX, one field
per label set (and, for a histogram, per bucket); `/metrics` reads them.

Recording is best effort. A Redis fault drops the sample, logged at debug,
and the samples of the next few seconds, so a Redis that hangs holds up at
most one request or task of each process per back-off, by about a second.
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import threading
import time
from collections import Counter as Tally
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache

import redis
from django.conf import settings
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)

# chat.runtime's client waits 5 s and retries ten times; a metric must not
# hold up the request it counts. One retry rides over a pooled connection
# that a Redis restart closed.
_TIMEOUT_SECONDS = 0.5
_BACKOFF_SECONDS = 10.0
_backoff_until: dict[str, float] = {}

Sample = Callable[[redis.client.Pipeline], object]


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_timeout=_TIMEOUT_SECONDS, socket_connect_timeout=_TIMEOUT_SECONDS, retry=Retry(NoBackoff(), 1)
    )


def client() -> redis.Redis:
    """Keyed by REDIS_URL, so settings pointing it elsewhere take effect."""
    return _client(settings.REDIS_URL)


def key(name: str) -> str:
    return f"{settings.METRICS_REDIS_PREFIX}:{name}"


def record(*samples: Sample) -> None:
    """Writes the samples in one round trip (MULTI/EXEC: a scrape never sees
    a histogram's bucket without its sum). Never raises for a Redis fault."""
    url = settings.REDIS_URL
    if not samples or time.monotonic() < _backoff_until.get(url, 0.0):
        return
    try:
        pipe = _client(url).pipeline()
        for sample in samples:
            sample(pipe)
        pipe.execute()
    except redis.RedisError as error:
        _backoff_until[url] = time.monotonic() + _BACKOFF_SECONDS
        logger.debug("Metric samples dropped, Redis failed: %s", error)


def _field(values: Iterable[str]) -> str:
    return json.dumps(list(values), separators=(",", ":"))


def bucket_bound(bounds: list[float], value: float) -> str:
    """The `le` of the first bucket `value` falls in (+Inf for NaN, which a
    failed measurement must not turn into an exception in its caller)."""
    return floatToGoString(next((bound for bound in bounds if value <= bound), bounds[-1]))


def cumulative_buckets(bounds: list[float], counts: Mapping[str, float]) -> list[tuple[str, float]]:
    """Prometheus's cumulative buckets from per-bucket counts keyed by `le`."""
    total, buckets = 0.0, []
    for bound in bounds:
        le = floatToGoString(bound)
        total += counts.get(le, 0.0)
        buckets.append((le, total))
    return buckets


class _Family:
    def __init__(self, name: str, documentation: str, labelnames: tuple[str, ...] = ()):
        self.name = name
        self.documentation = documentation
        self.labelnames = labelnames

    def _values(self, labels: Mapping[str, object]) -> list[str]:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name} takes the labels {self.labelnames}, not {tuple(labels)}")
        return [str(labels[name]) for name in self.labelnames]


class Counter(_Family):
    """A counter summed over every process that adds to it."""

    def sample(self, amount: int = 1, **labels) -> Sample:
        field = _field(self._values(labels))
        return lambda pipe: pipe.hincrby(key(self.name), field, amount)

    def families(self, redis_client: redis.Redis) -> list[Metric]:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for field, value in sorted(redis_client.hgetall(key(self.name)).items()):
            family.add_metric(json.loads(field), float(value))
        return [family]


class Histogram(_Family):
    """A histogram summed over every process. Each bucket's own count is
    stored (one write per sample); a scrape makes them cumulative."""

    def __init__(self, name: str, documentation: str, buckets: Iterable[float], labelnames: tuple[str, ...] = ()):
        super().__init__(name, documentation, labelnames)
        self.bounds = [*sorted(buckets), math.inf]

    def sample(self, value: float, **labels) -> Sample:
        values = self._values(labels)
        bucket, total = _field([*values, bucket_bound(self.bounds, value)]), _field([*values, "sum"])

        def commands(pipe):
            pipe.hincrby(key(self.name), bucket, 1)
            pipe.hincrbyfloat(key(self.name), total, value)

        return commands

    def families(self, redis_client: redis.Redis) -> list[Metric]:
        parts: dict[tuple[str, ...], dict[str, float]] = defaultdict(dict)
        for field, value in redis_client.hgetall(key(self.name)).items():
            *values, part = json.loads(field)
            parts[tuple(values)][part] = float(value)
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for values, counts in sorted(parts.items()):
            family.add_metric(list(values), cumulative_buckets(self.bounds, counts), counts.get("sum", 0.0))
        return [family]


# A process publishes its gauge at once after a change and every beat;
# one unseen for the TTL (three beats) has died and stops counting.
_BEAT_SECONDS = 10.0
_ALIVE_TTL_SECONDS = 30


class LiveGauge(_Family):
    """What processes hold open now (WebSocket connections), with a counter
    `<name>_total` of how many they ever opened.

    An increment and decrement kept in Redis would drift for ever when a
    process dies holding connections. Instead each process keeps its own
    count and a daemon thread publishes it whole (never the event loop,
    which must not wait on Redis), with a key that marks the process alive
    and expires unless renewed. A scrape sums the live processes and drops
    the fields of dead ones; a live process writes its fields again at its
    next beat, so dropping them loses nothing."""

    def __init__(self, name: str, documentation: str, total_documentation: str, labelnames: tuple[str, ...] = ()):
        super().__init__(name, documentation, labelnames)
        self.total = Counter(f"{name}_total", total_documentation, labelnames)
        self._lock = threading.Lock()
        self._open: Tally[tuple[str, ...]] = Tally()
        self._opened: Tally[tuple[str, ...]] = Tally()
        self._changed = threading.Event()
        self._publisher: threading.Thread | None = None

    def opened(self, **labels) -> None:
        self._change(tuple(self._values(labels)), 1)

    def closed(self, **labels) -> None:
        self._change(tuple(self._values(labels)), -1)

    def _change(self, values: tuple[str, ...], step: int) -> None:
        with self._lock:
            self._open[values] += step
            if step > 0:
                self._opened[values] += step
            if self._publisher is None:
                self._publisher = threading.Thread(
                    target=self._publish_forever, name=f"{self.name}-publisher", daemon=True
                )
                self._publisher.start()
        self._changed.set()

    def _publish_forever(self) -> None:
        process = f"{socket.gethostname()}:{os.getpid()}"
        while True:
            self._changed.wait(_BEAT_SECONDS)
            self._changed.clear()
            with self._lock:
                open_now, opened, self._opened = dict(self._open), self._opened, Tally()
            record(
                *(
                    self.total.sample(count, **dict(zip(self.labelnames, values, strict=True)))
                    for values, count in opened.items()
                ),
                *(self._set(process, values, count) for values, count in open_now.items()),
                lambda pipe: pipe.set(key(f"{self.name}:alive:{process}"), 1, ex=_ALIVE_TTL_SECONDS),
            )

    def _set(self, process: str, values: tuple[str, ...], count: int) -> Sample:
        field = _field([*values, process])
        return lambda pipe: pipe.hset(key(self.name), field, count)

    def families(self, redis_client: redis.Redis) -> list[Metric]:
        stored = {
            field: (*json.loads(field), int(value)) for field, value in redis_client.hgetall(key(self.name)).items()
        }
        processes = sorted({row[-2] for row in stored.values()})
        alive = redis_client.mget([key(f"{self.name}:alive:{process}") for process in processes]) if processes else []
        live = {process for process, mark in zip(processes, alive, strict=True) if mark is not None}
        dead = [field for field, row in stored.items() if row[-2] not in live]
        if dead:
            redis_client.hdel(key(self.name), *dead)
        sums: Tally[tuple[str, ...]] = Tally()
        for *values, process, count in stored.values():
            if process in live:
                sums[tuple(values)] += count
        family = GaugeMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for values, count in sorted(sums.items()):
            family.add_metric(list(values), count)
        return [family, *self.total.families(redis_client)]
