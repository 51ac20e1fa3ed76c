"""How a running recipe learns it must stop: the jobs app cancels a job
with SIGTERM, a person at a terminal presses Ctrl-C."""

from __future__ import annotations

import signal
import sys


class StopSignal:
    """Turns SIGTERM and SIGINT into a flag the training loop checks at each
    step boundary: cancelling a job stops within a step and still saves the
    model, instead of dying mid-write."""

    def __init__(self):
        self.requested = False
        self._previous = {}

    def install(self) -> StopSignal:
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread (a test calling train())
                pass
        return self

    def _handle(self, signum, frame):
        if not self.requested:
            print(f"received {signal.Signals(signum).name}: stopping at the next step", file=sys.stderr, flush=True)
        self.requested = True

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
