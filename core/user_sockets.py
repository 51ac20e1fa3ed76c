"""What every signed-in WebSocket (chat, arena, job page) shares about its
account: how many may be open, how fast each may send, and that none
outlives a change of the account's rights.

- At most WEBSOCKET_MAX_PER_USER sockets per account across every web
  process, counted in Redis: one sorted set per account of channel names,
  each scored by when its lease ends. A live socket renews its lease every
  third of WEBSOCKET_LEASE_SECONDS; the sockets of a process killed without
  closing them stop counting when their leases end. One more is closed
  with 4429 and a reason the page shows.
- Frames per socket: a token bucket of WEBSOCKET_FRAME_BURST frames refilled
  at WEBSOCKET_FRAMES_PER_SECOND, kept in the consumer (no round trip). A
  socket that empties it is closed with 4429: the pages send a frame or two
  a minute, a script flooding frames (each may cost a database query) is
  cut off.
- Channels resolves the user once, at the handshake. Whenever an account's
  rights may have changed (accounts/sockets.py says when), every socket of
  it is closed with ACCOUNT_CHANGED; the page reconnects at once and the
  handshake decides again on the session and rights as they are now
  (ready, 4401 or 4403). Closing, rather than re-checking in place, keeps
  one home for that decision, and a password change rotates the session
  key, which only a new handshake can pick up."""

from __future__ import annotations

import asyncio
import logging
import time

from django.conf import settings

from . import broadcast

logger = logging.getLogger(__name__)

TOO_MANY = 4429
# Not one of the 44xx codes that stop the pages: "reconnect now".
ACCOUNT_CHANGED = 4001

# KEYS[1]: the account's sorted set. ARGV: the channel name, the lease in
# ms, and the cap (0: none, as when renewing). Redis's clock scores every
# lease, so web hosts whose clocks differ agree on which have ended.
# Returns REFUSED (at the cap), RENEWED, or ADDED: Redis did not hold this
# socket's lease, which on a renewal means it lost its data (restarted
# without it, or flushed) and with it the socket's groups.
REFUSED, RENEWED, ADDED = 0, 1, 2
_LEASE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cap = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if cap > 0 and redis.call('ZCARD', KEYS[1]) >= cap then return 0 end
local added = redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + 1000)
return 1 + added
"""
# channels_redis drops a group's member its group_expiry (a day, by
# default) after it joined: a socket open that long must join again.
GROUP_REJOIN_SECONDS = 3600.0


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def user_sockets_close(*, user_id: int) -> None:
    """Closes every open socket of the account, in every web process (from
    synchronous code; the pages reconnect)."""
    broadcast.group_send(user_group(user_id), {"type": "account.changed"})


class UserSockets:
    """Mix into an AsyncWebsocketConsumer subclass, before it. The consumer
    calls `admit(user)` once it has authorized the user, and `frame_allowed()`
    first thing for each client frame; `rejoin_groups()` names the groups
    the keepalive adds it to again (a Redis restarted without its data
    forgets who listens)."""

    closed = False
    admitted_user_id: int | None = None
    keepalive = None
    _tokens: float | None = None
    _tokens_at = 0.0

    async def __call__(self, scope, receive, send):
        async def send_until_closed(message):
            # What a closed socket would still send (a delta arriving after
            # the close) is dropped: the server refuses anything after it.
            if self.closed:
                return
            self.closed = message["type"] == "websocket.close"
            await send(message)

        try:
            await super().__call__(scope, receive, send_until_closed)
        finally:
            # Also when cancelled: an ASGI server cancels a consumer still busy
            # its close timeout after the client left, and `disconnect` never
            # runs then.
            await self._release()

    def _sockets_key(self, user_id: int) -> str:
        return f"{self.channel_layer.prefix}:sockets:{user_id}"

    def _redis(self, key: str):
        return self.channel_layer.connection(self.channel_layer.consistent_hash(key))

    async def _lease(self, cap: int) -> int:
        """REFUSED, RENEWED or ADDED (see _LEASE_SCRIPT)."""
        key = self._sockets_key(self.admitted_user_id)
        lease_ms = int(settings.WEBSOCKET_LEASE_SECONDS * 1000)
        return int(await self._redis(key).eval(_LEASE_SCRIPT, 1, key, self.channel_name, lease_ms, cap))

    async def admit(self, user) -> bool:
        """Counts this socket against the account's cap and listens for the
        account's changes; False (the socket closed with 4429) when the
        account has as many open as it may."""
        self.admitted_user_id = user.pk
        if await self._lease(settings.WEBSOCKET_MAX_PER_USER) == REFUSED:
            self.admitted_user_id = None
            limit = settings.WEBSOCKET_MAX_PER_USER
            await self.close(
                code=TOO_MANY,
                reason=f"Too many open connections: at most {limit} per account. Close another tab, then retry.",
            )
            return False
        await self.channel_layer.group_add(user_group(user.pk), self.channel_name)
        self.keepalive = asyncio.create_task(self._keepalive())
        return True

    def rejoin_groups(self) -> list[str]:
        return [user_group(self.admitted_user_id)]

    async def _keepalive(self):
        """Renews the lease: one Redis round trip, no database query. Joins
        the groups again only when Redis had forgotten the socket (it lost
        its data) and every GROUP_REJOIN_SECONDS, not on every round: with
        thousands of idle sockets, the group joins were most of the Redis
        calls a web process made."""
        joined = time.monotonic()
        while True:
            await asyncio.sleep(settings.WEBSOCKET_LEASE_SECONDS / 3)
            try:
                forgotten = await self._lease(0) == ADDED
                if forgotten or time.monotonic() - joined >= GROUP_REJOIN_SECONDS:
                    for group in self.rejoin_groups():
                        await self.channel_layer.group_add(group, self.channel_name)
                    joined = time.monotonic()
            except Exception:  # a passing Redis fault: try again on the next round
                logger.debug("WebSocket keepalive failed", exc_info=True)

    async def _release(self):
        if self.keepalive:
            self.keepalive.cancel()
            self.keepalive = None
        user_id, self.admitted_user_id = self.admitted_user_id, None
        if user_id is None:
            return
        key = self._sockets_key(user_id)
        try:
            await self._redis(key).zrem(key, self.channel_name)
            await self.channel_layer.group_discard(user_group(user_id), self.channel_name)
        except Exception:  # Redis is gone: the lease ends on its own
            logger.warning("Could not release a WebSocket of user %s", user_id, exc_info=True)

    async def frame_allowed(self) -> bool:
        """False for a frame to drop: the socket is closing, or this frame
        emptied the bucket (then it is closed with 4429)."""
        if self.closed:
            return False
        rate, burst = settings.WEBSOCKET_FRAMES_PER_SECOND, settings.WEBSOCKET_FRAME_BURST
        now = time.monotonic()
        tokens = burst if self._tokens is None else min(burst, self._tokens + (now - self._tokens_at) * rate)
        self._tokens_at = now
        if tokens < 1:
            await self.close(code=TOO_MANY, reason=f"Too many frames: at most {rate:g} a second. Reconnect to go on.")
            return False
        self._tokens = tokens - 1
        return True

    async def account_changed(self, event):
        await self.close(code=ACCOUNT_CHANGED, reason="Your account changed; reconnecting.")
