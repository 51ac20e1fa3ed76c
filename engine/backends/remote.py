"""Any OpenAI-compatible server (vLLM, TGI, llama.cpp's server,
`transformers serve`) as the generation backend, streamed, over one or
several endpoints (replicas of one model server).

Each answer goes to the healthy endpoint with the fewest answers in flight
(`EndpointPool`). An endpoint that cannot be reached, times out or answers
5xx or 429 is marked down for a back-off and probed (`GET {base}/models`)
before it takes answers again. A failure before the answer's first text is
retried on another endpoint; after it, the text so far cannot be continued
on another server, so the answer ends with a clear error.

Closing the HTTP stream is how a stop reaches the server: vLLM and the
others abort a request whose client went away.

Endpoint URLs may carry credentials or internal host names: they are
logged, never put in a message a user may see, which names an endpoint by
its position ("model server 2 of 3").
"""

from __future__ import annotations

import copy
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import openai

from .base import ChatMessages, GenerationStream, SamplingParams, releasable_end

logger = logging.getLogger(__name__)

MID_ANSWER_MESSAGE = "The model server stopped in the middle of this answer; regenerate to try again."
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)


# What a remote model is called where no OPENAI_MODEL names it: never its
# server's URL, which may carry credentials or internal host names.
UNNAMED_REMOTE_MODEL = "remote model"


class RemoteGenerationError(RuntimeError):
    """The model server failed; the message is fit to show in the chat."""


def parse_base_urls(value: str | Sequence[str]) -> list[str]:
    """OPENAI_BASE_URL's endpoints: one URL, or several separated by commas."""
    items = value.split(",") if isinstance(value, str) else list(value)
    return [item.strip().rstrip("/") for item in items if item and item.strip()]


@dataclass
class Endpoint:
    index: int
    url: str
    count: int
    in_flight: int = 0
    down_until: float | None = None  # None: up
    probing: bool = False

    @property
    def label(self) -> str:
        """How users see it: by position, never by URL."""
        return "the model server" if self.count == 1 else f"model server {self.index + 1} of {self.count}"


class EndpointPool:
    """Chooses the endpoint for each answer. Thread-safe.

    `acquire` gives the up endpoint with the fewest answers in flight
    (round-robin on ties) and counts one more in flight until `release`.
    `mark_down` takes an endpoint out for `backoff_seconds`; once that has
    passed, the next `acquire` probes it (outside the lock, one thread per
    endpoint) and puts it back when `probe(url)` says it answers, or out for
    another back-off. When no endpoint is up, `acquire` probes the down ones
    at once rather than fail an answer on a stale verdict."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        backoff_seconds: float = 10.0,
        probe: Callable[[str], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not urls:
            raise RemoteGenerationError("GENERATION_BACKEND=openai needs OPENAI_BASE_URL.")
        self.endpoints = [Endpoint(index, url, len(urls)) for index, url in enumerate(urls)]
        self.backoff_seconds = backoff_seconds
        self.probe = probe or (lambda url: True)
        self.clock = clock
        self._next = 0
        self._lock = threading.Lock()

    def acquire(self, exclude: Sequence[Endpoint] = ()) -> Endpoint | None:
        """An endpoint to send one answer to, other than `exclude`; None
        when none answers."""
        skip = {endpoint.index for endpoint in exclude}
        for endpoint in self._claim_probes(skip, due_only=True):
            self._probe(endpoint)
        chosen = self._take(skip)
        if chosen is None:
            for endpoint in self._claim_probes(skip, due_only=False):
                self._probe(endpoint)
            chosen = self._take(skip)
        return chosen

    def release(self, endpoint: Endpoint) -> None:
        with self._lock:
            endpoint.in_flight -= 1

    def mark_down(self, endpoint: Endpoint, reason: str) -> None:
        with self._lock:
            endpoint.down_until = self.clock() + self.backoff_seconds
        logger.warning(
            "Model server %d of %d (%s) is down for %.0f s: %s",
            endpoint.index + 1,
            endpoint.count,
            endpoint.url,
            self.backoff_seconds,
            reason,
        )

    def is_up(self, endpoint: Endpoint) -> bool:
        with self._lock:
            return endpoint.down_until is None

    def _claim_probes(self, skip: set[int], *, due_only: bool) -> list[Endpoint]:
        now = self.clock()
        with self._lock:
            claimed = [
                e
                for e in self.endpoints
                if e.index not in skip
                and e.down_until is not None
                and not e.probing
                and (not due_only or now >= e.down_until)
            ]
            for endpoint in claimed:
                endpoint.probing = True
        return claimed

    def _probe(self, endpoint: Endpoint) -> None:
        try:
            answers = bool(self.probe(endpoint.url))
        except Exception as exc:  # a probe that cannot tell says "down"
            logger.warning(
                "Probing model server %d of %d (%s) failed: %r", endpoint.index + 1, endpoint.count, endpoint.url, exc
            )
            answers = False
        with self._lock:
            endpoint.probing = False
            endpoint.down_until = None if answers else self.clock() + self.backoff_seconds
        if answers:
            logger.warning("Model server %d of %d (%s) answers again", endpoint.index + 1, endpoint.count, endpoint.url)

    def _take(self, skip: set[int]) -> Endpoint | None:
        with self._lock:
            up = [e for e in self.endpoints if e.index not in skip and e.down_until is None]
            if not up:
                return None
            fewest = min(e.in_flight for e in up)
            count = len(self.endpoints)
            chosen = min((e for e in up if e.in_flight == fewest), key=lambda e: (e.index - self._next) % count)
            chosen.in_flight += 1
            self._next = (chosen.index + 1) % count
            return chosen


class _EndpointFailed(Exception):
    """The endpoint failed (unreachable, timed out, 5xx, 429, a broken
    stream): mark it down and try another if no text came yet."""

    def __init__(self, summary: str, detail: str):
        super().__init__(detail)
        self.summary, self.detail = summary, detail


def _scrub(text: str) -> str:
    return _URL.sub("<url>", text)


def _classify(exc: openai.OpenAIError) -> Exception:
    """An _EndpointFailed for a failure of the server, a
    RemoteGenerationError (without a URL) for a refusal of this request,
    which another replica would refuse too."""
    if isinstance(exc, openai.APITimeoutError):
        return _EndpointFailed("did not answer in time", repr(exc))
    if isinstance(exc, openai.APIConnectionError):
        return _EndpointFailed("cannot be reached", repr(exc))
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code >= 500 or exc.status_code == 429:
            return _EndpointFailed(f"answered {exc.status_code}", f"{exc.status_code}: {exc}")
        detail = _scrub(getattr(exc, "message", "") or str(exc))
        return RemoteGenerationError(f"The model server answered {exc.status_code}: {detail}"[:480])
    return _EndpointFailed("failed", repr(exc))


class OpenAIBackend:
    name = "openai"

    def __init__(
        self,
        base_url: str | Sequence[str],
        api_key: str = "",
        model: str = "",
        timeout: float = 60.0,
        backoff_seconds: float = 10.0,
    ):
        urls = parse_base_urls(base_url)
        # Connecting is quick or never: a short connect timeout fails a dead host over fast.
        timeout_config = openai.Timeout(timeout, connect=min(timeout, 5.0))
        self.clients = {
            url: openai.OpenAI(base_url=url, api_key=api_key or "none", timeout=timeout_config, max_retries=0)
            for url in urls
        }
        probe_timeout = min(timeout, 5.0)
        self.pool = EndpointPool(
            urls,
            backoff_seconds=backoff_seconds,
            probe=lambda url: self.clients[url].with_options(timeout=probe_timeout).models.list() is not None,
        )
        self.model = model
        # What the answer says wrote it: the configured name, never a URL.
        self.model_path = model or UNNAMED_REMOTE_MODEL

    def with_model(self, model: str) -> OpenAIBackend:
        """The same endpoints and pool, asking for `model` (a name the
        servers serve: vLLM's --served-model-name or a LoRA module's)."""
        other = copy.copy(self)
        other.model, other.model_path = model, model or UNNAMED_REMOTE_MODEL
        return other

    def stream(
        self, messages: ChatMessages, params: SamplingParams, should_stop: Callable[[], bool]
    ) -> GenerationStream:
        request = dict(
            model=self.model,
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
            max_tokens=params.max_new_tokens,
            temperature=params.temperature,
            top_p=params.top_p,
        )
        if params.stop:
            request["stop"] = list(params.stop)
        if params.seed is not None:
            request["seed"] = params.seed
        if messages and messages[-1]["role"] == "assistant":  # chat's Continue; vLLM's parameters
            request["extra_body"] = {"continue_final_message": True, "add_generation_prompt": False}
        stream = GenerationStream(deltas=iter(()))
        progress = _Progress()

        def deltas():
            failures: list[tuple[Endpoint, str]] = []
            try:
                while True:
                    endpoint = self.pool.acquire(exclude=[e for e, _ in failures])
                    if endpoint is None:
                        raise RemoteGenerationError(_unavailable(self.pool, failures))
                    try:
                        yield from self._stream_from(endpoint, request, params, should_stop, stream, progress)
                        return
                    except _EndpointFailed as failure:
                        self.pool.mark_down(endpoint, failure.detail)
                        if progress.chunks:
                            raise RemoteGenerationError(MID_ANSWER_MESSAGE) from failure
                        failures.append((endpoint, failure.summary))
                    finally:
                        self.pool.release(endpoint)
            finally:
                stream.finished_at = time.perf_counter()
                if not stream.completion_tokens:
                    stream.completion_tokens = progress.chunks  # a server that reports no usage: chunks, roughly tokens

        stream.deltas = deltas()
        return stream

    def _stream_from(self, endpoint, request, params, should_stop, stream, progress):
        try:
            response = self.clients[endpoint.url].chat.completions.create(**request)
        except openai.OpenAIError as exc:
            raise _classify(exc) from exc
        ended = False
        try:
            for chunk in response:
                if should_stop():
                    stream.finish_reason = "cancelled"
                    return
                if chunk.usage is not None:
                    ended = True
                    stream.prompt_tokens = chunk.usage.prompt_tokens or 0
                    stream.completion_tokens = chunk.usage.completion_tokens or 0
                for choice in chunk.choices or ():
                    if choice.delta and choice.delta.content:
                        progress.chunks += 1
                        if stream.first_token_at is None:
                            stream.first_token_at = time.perf_counter()
                        progress.text += choice.delta.content
                    if choice.finish_reason:
                        ended = True
                    if choice.finish_reason == "length":
                        stream.finish_reason = "length"
                # Servers differ on stop strings; none is ever shown.
                end, stopped = releasable_end(progress.text, params.stop, final=False)
                if end > progress.shown:
                    yield progress.text[progress.shown : end]
                    progress.shown = end
                if stopped:
                    return
        except openai.OpenAIError as exc:
            raise _classify(exc) from exc
        finally:
            response.close()
        if not ended:  # the connection closed between two events, before the answer's end
            raise _EndpointFailed("stopped answering", "the stream ended without a finish reason")
        end, _ = releasable_end(progress.text, params.stop, final=True)
        if end > progress.shown:
            yield progress.text[progress.shown : end]


@dataclass
class _Progress:
    text: str = ""
    shown: int = 0
    chunks: int = 0


def _unavailable(pool: EndpointPool, failures: list[tuple[Endpoint, str]]) -> str:
    """Why no endpoint could take the answer, naming each by position."""
    if len(pool.endpoints) == 1:
        summary = failures[0][1] if failures else "cannot be reached"
        return f"The model server {summary}; try again shortly."
    reasons = [f"{endpoint.label} {summary}" for endpoint, summary in failures]
    down = len(pool.endpoints) - len(failures)
    if down:
        reasons.append(f"all {down} are down" if not failures else f"{down} more down")
    return f"No model server could take this answer ({'; '.join(reasons)}); try again shortly."
