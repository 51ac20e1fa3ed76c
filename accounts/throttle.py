"""Failed sign-ins, counted in Redis (shared by every web process), so that
guessing passwords is slowed without handing anybody a way to lock another
person out.

Two counts, each remembered until LOGIN_FAILURE_WINDOW_SECONDS pass without
a new failure:
- per account name *from one address*: guessing one account's password.
  Its waits bind only that pair, so an attacker's failures from one address
  never stop the owner signing in from another; and a correct password from
  an address with no recent failures for the account always works.
- per address, across account names: spraying one password over many
  accounts.
Past its free failures, each further failure makes the pair (or address)
wait, twice as long as the one before, up to LOGIN_RETRY_MAX_SECONDS: a
delay, not a lock. An IPv6 address counts as its /64, the block one
subscriber holds. Behind a load balancer the address is the client's
(core/proxy.py).

Refusing and counting failures happen in the authentication backend
(accounts/backends.py), clearing on Django's `user_logged_in` signal, so
every way in (the login page, the admin's, an API client calling
`authenticate`) is limited alike. A Redis fault lets the
attempt through with a logged warning: sign-in must not depend on Redis.
"""

import hashlib
import ipaddress
import logging

import redis
from django.conf import settings

from core.redis_client import redis_client

logger = logging.getLogger(__name__)

# The first wait once the free failures are spent; each further failure
# doubles it.
FIRST_WAIT_SECONDS = 60


def client_address(request) -> str:
    """The client's address. Under ASGI, REMOTE_ADDR is the scope's client,
    which core/proxy.py replaces with the forwarded one when the peer is
    a load balancer listed in TRUSTED_PROXIES."""
    return (request.META.get("REMOTE_ADDR") if request is not None else None) or "unknown"


def _address_bucket(address: str) -> str:
    """The address as counted: an IPv6 address's /64, others as they are."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 4:
        return str(parsed)
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(ipaddress.ip_network(f"{parsed}/64", strict=False))


def _buckets(*, username: str | None, address: str) -> list[tuple[str, int]]:
    """(key suffix, free failures) of each count this attempt falls in. The
    account name is hashed: people type passwords into it by mistake."""
    bucket = _address_bucket(address)
    buckets = [(f"address:{bucket}", settings.LOGIN_FAILURES_PER_ADDRESS)]
    if username:
        pair = f"{username.strip().lower()}\0{bucket}".encode()
        buckets.append((f"account:{hashlib.sha256(pair).hexdigest()[:32]}", settings.LOGIN_FAILURES_PER_ACCOUNT))
    return buckets


def login_retry_after(*, username: str | None, address: str) -> int:
    """Seconds until this account name from this address may try again; 0 now."""
    try:
        with redis_client().pipeline() as pipe:
            for suffix, _ in _buckets(username=username, address=address):
                pipe.ttl(f"accounts:login-wait:{suffix}")
            ttls = pipe.execute()
    except redis.RedisError as error:
        logger.warning("Sign-in throttle unavailable (Redis: %s); letting the attempt through.", error)
        return 0
    return max((int(ttl) for ttl in ttls if ttl and int(ttl) > 0), default=0)


def _wait_seconds(*, failures: int, free: int) -> int:
    if failures < free:
        return 0
    return min(settings.LOGIN_RETRY_MAX_SECONDS, FIRST_WAIT_SECONDS * 2 ** min(failures - free, 32))


def login_failure_record(*, username: str | None, address: str) -> None:
    buckets = _buckets(username=username, address=address)
    try:
        client = redis_client()
        with client.pipeline() as pipe:
            for suffix, _ in buckets:
                pipe.incr(f"accounts:login-failures:{suffix}")
                pipe.expire(f"accounts:login-failures:{suffix}", settings.LOGIN_FAILURE_WINDOW_SECONDS)
            counts = pipe.execute()[::2]
        with client.pipeline() as pipe:
            for (suffix, free), failures in zip(buckets, counts, strict=True):
                wait = _wait_seconds(failures=int(failures), free=free)
                if wait:
                    pipe.set(f"accounts:login-wait:{suffix}", 1, ex=wait)
            pipe.execute()
    except redis.RedisError as error:
        logger.warning("Could not count a failed sign-in (Redis: %s).", error)


def login_success_record(*, username: str, address: str) -> None:
    """A right password clears the account's count from this address (not
    the address's: an attacker's own account must not reset their address)."""
    suffix = _buckets(username=username, address=address)[1][0]
    try:
        redis_client().delete(f"accounts:login-failures:{suffix}")
    except redis.RedisError as error:
        logger.warning("Could not clear failed sign-ins (Redis: %s).", error)
