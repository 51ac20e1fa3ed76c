"""A chat model whose answer is a script, for tests that must see what
the page shows at a chosen point of an answer: the model writes a step's
deltas, then waits until the test lets the next step go."""

from __future__ import annotations

import threading
import time

from engine.backends import GenerationStream


class ScriptedBackend:
    """`steps`: lists of deltas. The first step is written at once; each
    later one once `go()` is called, so a test can look at the page while
    the model is mid-answer. The answer ends after the last step."""

    name = "scripted"
    model_path = "scripted"

    def __init__(self, *steps: list[str], timeout: float = 60.0):
        self.steps = steps
        self.timeout = timeout
        self._go = threading.Semaphore(0)

    def go(self) -> None:
        """Lets the model write its next step."""
        self._go.release()

    def stream(self, messages, params, should_stop) -> GenerationStream:
        stream = GenerationStream(iter(()), prompt_tokens=len(messages))

        def deltas():
            for index, step in enumerate(self.steps):
                if index and not self._go.acquire(timeout=self.timeout):
                    raise TimeoutError(f"the test never let step {index} of the script go")
                for delta in step:
                    if should_stop():
                        stream.finish_reason = "cancelled"
                        stream.finished_at = time.perf_counter()
                        return
                    if stream.first_token_at is None:
                        stream.first_token_at = time.perf_counter()
                    stream.completion_tokens += 1
                    yield delta
            stream.finish_reason = "stop"
            stream.finished_at = time.perf_counter()

        stream.deltas = deltas()
        return stream
