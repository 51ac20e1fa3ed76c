"""chat/runtime.py: a stop flag is read from Redis at most once per
interval, by the watch's own clock."""

from chat import runtime


def test_cancel_watch_reads_redis_once_per_interval():
    now = [1000.0]
    watch = runtime.CancelWatch(987654, interval=0.25, clock=lambda: now[0])
    try:
        assert watch() is False
        runtime.request_cancel(987654)
        now[0] += 0.125
        assert watch() is False, "within the interval the last answer stands"
        now[0] += 0.125
        assert watch() is True, "a whole interval later Redis is asked again"
        runtime.clear_cancel(987654)
        now[0] += 1.0
        assert watch() is True, "a stop is final"
    finally:
        runtime.clear_cancel(987654)
