"""What the broker holds right now: the task ids waiting in a queue and
those delivered to a worker but not yet acknowledged, read straight from
kombu's Redis transport. Housekeeping compares them with the database to
find work whose message was lost (jobs/dispatch.py, chat/dispatch.py)."""

import json
import logging

from kombu.exceptions import KombuError
from redis.exceptions import RedisError

from core.redis_client import redis_client

logger = logging.getLogger(__name__)

# kombu's Redis transport: the queue's lists (one per priority step after
# the first, named queue + separator + step), and the hash and its index of
# messages delivered to a consumer and not yet acknowledged.
_PRIORITY_SEPARATOR = "\x06\x16"
_UNACKED = "unacked"
_UNACKED_INDEX = "unacked_index"


def broker_messages(queue: str) -> tuple[set[str], dict[str, float]]:
    """(task ids waiting in `queue`, {task id: delivery time} of messages
    delivered to a worker and not yet acknowledged), read from Redis (the
    broker is REDIS_URL's)."""
    client = redis_client()
    keys = [queue, *client.scan_iter(match=f"{queue}{_PRIORITY_SEPARATOR}*")]
    waiting = {_task_id(raw) for key in keys for raw in client.lrange(key, 0, -1)}
    delivered_at = {tag.decode(): score for tag, score in client.zrange(_UNACKED_INDEX, 0, -1, withscores=True)}
    delivered = {}
    for tag, raw in client.hgetall(_UNACKED).items():
        try:
            message = json.loads(raw)[0]
        except (ValueError, IndexError, TypeError):
            continue
        delivered[_task_id(message)] = delivered_at.get(tag.decode(), 0.0)
    waiting.discard(None)
    delivered.pop(None, None)
    return waiting, delivered


def _task_id(message) -> str | None:
    try:
        if isinstance(message, (bytes, str)):
            message = json.loads(message)
        return message["headers"]["id"]
    except (ValueError, KeyError, TypeError):
        return None


def task_send(task, args: tuple, *, task_id: str, what: str, queue: str | None = None) -> bool:
    """Sends the task of work already stored (`what` names it in the log).
    False (logged) when the broker cannot be reached: the work stays stored,
    and housekeeping finds it and sends it again."""
    options = {"queue": queue} if queue else {}
    try:
        task.apply_async(args, task_id=task_id, **options)
    except (KombuError, RedisError, OSError) as error:
        logger.warning("%s is stored but its task was not sent (%s); housekeeping will send it", what, error)
        return False
    return True
