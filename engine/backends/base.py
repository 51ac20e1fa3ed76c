from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

ChatMessages = list[dict[str, str]]


class ContextTooLong(ValueError):
    """The newest user turn alone does not fit the model's context."""


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.7
    top_p: float = 0.9
    max_new_tokens: int = 512
    stop: tuple[str, ...] = ()
    seed: int | None = None

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0


@dataclass
class GenerationStream:
    """Iterates over text deltas; once exhausted, holds the figures of the run.

    `finish_reason` is `stop` (end of turn or a stop string), `length`
    (max_new_tokens reached) or `cancelled`.
    """

    deltas: Iterator[str]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"
    started_at: float = field(default_factory=time.perf_counter)
    first_token_at: float | None = None
    finished_at: float | None = None

    def __iter__(self) -> Iterator[str]:
        return self.deltas

    @property
    def ttft_seconds(self) -> float | None:
        return None if self.first_token_at is None else self.first_token_at - self.started_at

    @property
    def tokens_per_second(self) -> float | None:
        """Decode speed after the first token, the figure users feel while reading."""
        if self.first_token_at is None or self.finished_at is None or self.completion_tokens < 2:
            return None
        elapsed = self.finished_at - self.first_token_at
        return (self.completion_tokens - 1) / elapsed if elapsed > 0 else None


class GenerationBackend(Protocol):
    name: str

    def stream(
        self, messages: ChatMessages, params: SamplingParams, should_stop: Callable[[], bool]
    ) -> GenerationStream: ...


def releasable_end(text: str, stops: tuple[str, ...], final: bool) -> tuple[int, bool]:
    """How much of `text` may be shown, and whether a stop string ended it.

    Holds back a trailing partial UTF-8 character and any tail that could
    still grow into a stop string, so a stop string never shows, even in
    part."""
    positions = [text.find(s) for s in stops if s and s in text]
    if positions:
        return min(positions), True
    if final:
        return len(text), False
    end = len(text) - 1 if text.endswith("\ufffd") else len(text)
    longest = max((len(s) for s in stops), default=1)
    return max(0, min(end, len(text) - (longest - 1))), False
