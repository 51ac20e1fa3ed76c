"""/metrics' exposition, gathered when it is scraped: the series kept in
Redis (`registry`), the Celery queues' lengths and the training jobs.

The registry is our own, not prometheus_client's global one: that one adds
process_* and python_* series of whichever web process answered the
scrape, which jump from process to process behind a load balancer and say
nothing of the workers. Per-process figures belong to a node exporter."""

from __future__ import annotations

import logging
from collections import defaultdict

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from redis import RedisError

from core.telemetry.instruments import STORED
from core.telemetry.store import bucket_bound, client, cumulative_buckets

from . import selectors

logger = logging.getLogger(__name__)

_JOB_DURATION_BOUNDS = [60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, float("inf")]


class ChatsiteCollector(Collector):
    def collect(self):
        yield from _redis_families()
        yield from _training_job_families()


def _redis_families() -> list[Metric]:
    """The series kept in Redis and the queue lengths, or, when Redis cannot
    be read, none of them and chatsite_redis_up 0 (the rest still shows)."""
    up = GaugeMetricFamily(
        "chatsite_redis_up", "1 when this scrape could read Redis, where the counters and the queues are."
    )
    try:
        redis_client = client()
        families = [family for series in STORED for family in series.families(redis_client)]
        queues = GaugeMetricFamily(
            "chatsite_celery_queue_length", "Messages waiting in a Celery queue.", labels=["queue"]
        )
        for queue, length in selectors.celery_queue_lengths(selectors.celery_queues()).items():
            queues.add_metric([queue], length)
        families.append(queues)
    except RedisError as error:
        logger.warning("/metrics could not read Redis: %s", error)
        up.add_metric([], 0)
        return [up]
    up.add_metric([], 1)
    return [up, *families]


def _training_job_families() -> list[Metric]:
    jobs = GaugeMetricFamily("chatsite_training_jobs", "Training jobs in each state.", labels=["state"])
    for state, count in selectors.training_job_counts().items():
        jobs.add_metric([state], count)
    counts: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for kind, state, seconds in selectors.training_job_durations():
        counts[kind, state][bucket_bound(_JOB_DURATION_BOUNDS, seconds)] += 1
        counts[kind, state]["sum"] += seconds
    durations = HistogramMetricFamily(
        "chatsite_training_job_duration_seconds",
        "Training jobs that ran and ended, start to end, by kind and final state.",
        labels=["kind", "state"],
    )
    for labels, parts in sorted(counts.items()):
        durations.add_metric(list(labels), cumulative_buckets(_JOB_DURATION_BOUNDS, parts), parts["sum"])
    return [jobs, durations]


def exposition() -> bytes:
    registry = CollectorRegistry()
    registry.register(ChatsiteCollector())
    return generate_latest(registry)
