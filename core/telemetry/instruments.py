"""The series that processes add to as things happen (kept in Redis, see
`store`), and what records them at each event. Everything else /metrics
shows is read when it is scraped (`collectors`)."""

from __future__ import annotations

from .store import Counter, Histogram, LiveGauge, record

HTTP_REQUESTS = Counter(
    "chatsite_http_requests_total",
    "HTTP requests answered, by method, view (URL name; unmatched when none) and status code.",
    ("method", "view", "status"),
)
HTTP_REQUEST_DURATION = Histogram(
    "chatsite_http_request_duration_seconds",
    "Time until the response is returned (a streamed body's headers), by method and view.",
    (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    ("method", "view"),
)
WEBSOCKET_CONNECTIONS = LiveGauge(
    "chatsite_websocket_connections",
    "WebSocket connections open now, by route (chat, arena, jobs).",
    "WebSocket connections accepted, by route (chat, arena, jobs).",
    ("route",),
)
GENERATION_TIME_TO_FIRST_TOKEN = Histogram(
    "chatsite_generation_time_to_first_token_seconds",
    "Per answer, from the backend starting the stream (the prompt's prefill included) to its first token.",
    (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
GENERATION_TOKENS = Counter("chatsite_generation_tokens_total", "Tokens generated for answers.")
GENERATION_TOKENS_PER_SECOND = Histogram(
    "chatsite_generation_tokens_per_second",
    "Per answer, decode speed after its first token.",
    (1, 2, 5, 10, 20, 50, 100, 200, 500),
)
MODERATION_FLAGS = Counter(
    "chatsite_moderation_flags_total",
    "Texts moderation flagged, by category (a text flagged in two counts in both) and stage (input, output).",
    ("category", "stage"),
)

# The series kept in Redis, in the order /metrics shows them.
STORED = (
    HTTP_REQUESTS,
    HTTP_REQUEST_DURATION,
    WEBSOCKET_CONNECTIONS,
    GENERATION_TIME_TO_FIRST_TOKEN,
    GENERATION_TOKENS,
    GENERATION_TOKENS_PER_SECOND,
    MODERATION_FLAGS,
)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def http_request_record(*, method: str, view: str, status: int, seconds: float) -> None:
    """Any other method is counted as `other`: the client picks it, and a
    label must not take unbounded values."""
    method = method if method in _METHODS else "other"
    record(
        HTTP_REQUESTS.sample(method=method, view=view, status=status),
        HTTP_REQUEST_DURATION.sample(seconds, method=method, view=view),
    )


def generation_record(*, completion_tokens: int, ttft_seconds: float | None, tokens_per_second: float | None) -> None:
    """One answer's figures, as its GenerationStream measured them (no
    first token: no time to it; under two tokens: no speed)."""
    samples = [GENERATION_TOKENS.sample(completion_tokens)]
    if ttft_seconds is not None:
        samples.append(GENERATION_TIME_TO_FIRST_TOKEN.sample(ttft_seconds))
    if tokens_per_second is not None:
        samples.append(GENERATION_TOKENS_PER_SECOND.sample(tokens_per_second))
    record(*samples)


def moderation_flags_record(*, categories: list[str], stage: str) -> None:
    record(*(MODERATION_FLAGS.sample(category=category, stage=stage) for category in categories))
