"""Failed sign-ins, counted per account name and per client address in
Redis (shared by every web process), so guessing passwords is slowed to a
few tries per window however the attempts are spread.

Counting listens to Django's `user_login_failed` and `user_logged_in`
signals and refusing happens in the authentication backend
(accounts/backends.py), so every way in (the login page, the admin's, an
API client calling `authenticate`) is limited alike. A Redis fault lets the
attempt through with a logged warning: sign-in must not depend on Redis.
"""
import hashlib
import logging

import redis
from django.conf import settings

from chat.runtime import redis_client

logger = logging.getLogger(__name__)


def client_address(request) -> str:
    """The client's address: behind a load balancer listed in
    TRUSTED_PROXIES, the one it forwarded (chatsite/proxy.py)."""
    return (request.META.get("REMOTE_ADDR") if request is not None else None) or "unknown"


def _keys(*, username: str | None, address: str) -> list[tuple[str, int]]:
    keys = [(f"accounts:login-failures:address:{address}", settings.LOGIN_FAILURES_PER_ADDRESS)]
    if username:
        digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
        keys.append((f"accounts:login-failures:user:{digest}", settings.LOGIN_FAILURES_PER_USERNAME))
    return keys


def login_retry_after(*, username: str | None, address: str) -> int:
    """Seconds until this account name and address may try again; 0 now."""
    keys = _keys(username=username, address=address)
    try:
        client = redis_client()
        with client.pipeline() as pipe:
            for key, _ in keys:
                pipe.get(key)
                pipe.ttl(key)
            replies = pipe.execute()
    except redis.RedisError as error:
        logger.warning("Sign-in throttle unavailable (Redis: %s); letting the attempt through.", error)
        return 0
    waits = [
        max(int(ttl), 1)
        for (_, limit), count, ttl in zip(keys, replies[::2], replies[1::2])
        if count is not None and int(count) >= limit
    ]
    return max(waits, default=0)


def login_failure_record(*, username: str | None, address: str) -> None:
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    try:
        with redis_client().pipeline() as pipe:
            for key, _ in _keys(username=username, address=address):
                pipe.incr(key)
                pipe.expire(key, window, nx=True)
            pipe.execute()
    except redis.RedisError as error:
        logger.warning("Could not count a failed sign-in (Redis: %s).", error)


def login_success_record(*, username: str) -> None:
    """A right password clears the account's count (not the address's:
    an attacker's own account must not reset their address)."""
    try:
        redis_client().delete(_keys(username=username, address="")[1][0])
    except redis.RedisError as error:
        logger.warning("Could not clear failed sign-ins (Redis: %s).", error)
