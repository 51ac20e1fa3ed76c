"""The process's one Redis connection pool for what is not the channel layer
or the broker: cancel flags, heartbeats, socket leases, throttles."""

from functools import lru_cache

import redis
from django.conf import settings


@lru_cache(maxsize=1)
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, health_check_interval=30)
