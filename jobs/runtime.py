"""The cancel flag in Redis: the worker polls it every half second, so a
cancel is heard within a second (the database flag is the durable copy,
read less often)."""

from core.redis_client import redis_client


def _cancel_key(job_id: int) -> str:
    return f"jobs:cancel:{job_id}"


def request_cancel(job_id: int) -> None:
    redis_client().set(_cancel_key(job_id), 1, ex=24 * 3600)


def is_cancel_requested(job_id: int) -> bool:
    return bool(redis_client().exists(_cancel_key(job_id)))


def clear_cancel(job_id: int) -> None:
    redis_client().delete(_cancel_key(job_id))
