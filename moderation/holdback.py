"""The hold-back gate of a streamed answer: generated text is shown only
once the chunk it belongs to has passed output moderation, so a flagged
sentence never reaches the page. The generation worker (chat.worker) feeds
it each delta."""

from __future__ import annotations

import re
import time

from django.conf import settings

from .pipeline import Verdict, moderate

# Where a chunk of output may end for moderation: after a sentence or a line.
_CHUNK_END = re.compile(r"[.!?;:\n](?=\s)|\n")
# A sentence that ends the text so far (closing quotes, brackets or
# markdown emphasis may follow its mark).
_SENTENCE_AT_END = re.compile(r"[.!?][\"'\u2019\u201d)\]*_]*$")
_WHITESPACE = re.compile(r"\s")


class OutputGate:
    """Holds generated text back until the chunk it belongs to has passed
    output moderation: a sentence, or `holdback_chars` when none ends sooner.
    The first sentence goes as soon as its mark arrives, without waiting for
    the space after it, so a short answer shows while the model is still
    writing; later sentences wait for that space ("3." may be "3.14"), as
    by then the answer is visibly moving. Nothing is released unchecked.
    `feed` returns the text that may be shown; `verdict` is set when a
    chunk is flagged, which then stays in `pending`, so `released + pending`
    is always everything the model wrote. With no output layers configured
    there is nothing to wait for: text passes at once."""

    def __init__(self, holdback_chars: int):
        self.holdback_chars = holdback_chars
        self.checking = bool(settings.MODERATION_OUTPUT_LAYERS)
        self.released = ""
        self.pending = ""
        self.verdict: Verdict | None = None
        self.final_verdict: Verdict | None = None
        self.moderation_seconds = 0.0

    def _check(self, chunk: str) -> bool:
        started = time.perf_counter()
        # The last released sentence rides along, so words split across chunks are seen whole.
        verdict = moderate(self.released[-self.holdback_chars :] + chunk, "assistant")
        self.moderation_seconds += time.perf_counter() - started
        if verdict.flagged:
            self.verdict = verdict
            return False
        return True

    def feed(self, text: str) -> str:
        if not self.checking:
            self.released += text
            return text
        self.pending += text
        cut = 0
        for match in _CHUNK_END.finditer(self.pending):
            cut = match.end()
        if not self.released and _SENTENCE_AT_END.search(self.pending):
            cut = len(self.pending)
        if cut == 0 and len(self.pending) >= self.holdback_chars:
            spaces = [m.end() for m in _WHITESPACE.finditer(self.pending)]
            cut = spaces[-1] if spaces else len(self.pending)
        if cut == 0:
            return ""
        chunk = self.pending[:cut]
        if not self._check(chunk):
            return ""
        self.pending = self.pending[cut:]
        self.released += chunk
        return chunk

    def finish(self) -> str:
        """Releases the tail, then checks the whole answer once more."""
        if not self.checking:
            return ""
        chunk = self.pending
        if chunk and not self._check(chunk):
            return ""
        self.pending = ""
        self.released += chunk
        started = time.perf_counter()
        self.final_verdict = moderate(self.released, "assistant")
        self.moderation_seconds += time.perf_counter() - started
        if self.final_verdict.flagged:
            self.verdict = self.final_verdict
            return ""
        return chunk
