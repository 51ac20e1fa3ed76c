"""Request ids: one per HTTP request, WebSocket frame and Celery task, in
every log line, and carried from the process that enqueues a task into the
worker that runs it (a message header). A chat message's whole way, the
consumer that stored it, the moderation worker, the generation worker, is
then one `grep` for the id of the frame that sent it.

HTTP clients may send their own X-Request-ID (a proxy's, say); it is kept
when it is a short token of safe characters, and echoed in the response.
"""

import contextvars
import json
import logging
import re
import uuid

HEADER = "X-Request-ID"
_TASK_HEADER = "request_id"
_SAFE = re.compile(r"[A-Za-z0-9._-]{1,64}")
_current: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def current() -> str:
    return _current.get()


def new_id(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex[:16]


def clean(value) -> str | None:
    """`value` when it can go into a log line as it is, else None."""
    return value if isinstance(value, str) and _SAFE.fullmatch(value) else None


def bind(value: str) -> contextvars.Token:
    return _current.set(value)


def reset(token: contextvars.Token) -> None:
    _current.reset(token)


class RequestIdFilter(logging.Filter):
    """Gives every record a `request_id` (the bound id, or "-")."""

    def filter(self, record):
        record.request_id = _current.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line (LOG_FORMAT=json), for log shippers."""

    def format(self, record):
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "process": record.process,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class RequestIdMiddleware:
    """Binds the request's id for its log lines and echoes it back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = clean(request.headers.get(HEADER)) or new_id()
        request.request_id = request_id
        token = bind(request_id)
        try:
            response = self.get_response(request)
        finally:
            reset(token)
        response[HEADER] = request_id
        return response


# --- Celery (connected in chatsite/celery.py) --------------------------------


def task_publish_carry_id(headers=None, **kwargs):
    """before_task_publish: the publisher's id rides in the message."""
    if headers is not None and _current.get() != "-":
        headers.setdefault(_TASK_HEADER, _current.get())


def task_bind_id(task_id=None, task=None, **kwargs):
    """task_prerun: the id the message carried, else the task's own id."""
    carried = clean(getattr(task.request, _TASK_HEADER, None)) if task is not None else None
    task.request.request_id_token = bind(carried or f"task-{task_id}")


def task_unbind_id(task=None, **kwargs):
    """task_postrun: a pooled worker process must not keep the last id."""
    token = getattr(task.request, "request_id_token", None) if task is not None else None
    if token is not None:
        reset(token)
        task.request.request_id_token = None
