"""The order a hand-written loop reads its examples in: shuffled passes
over them, taken a batch at a time (a batch may span two passes, as no
example is dropped at a pass's end). Checkpointed with the run, so a
resumed run reads on where it stopped."""

from __future__ import annotations

import random


class ShuffledOrder:
    def __init__(self, size: int, rng: random.Random):
        self.size = size
        self.rng = rng  # not saved here: a recipe may shuffle other things with it, and tracks it itself
        self.pending: list[int] = []

    def take(self, count: int) -> list[int]:
        """The next `count` indices, refilling with a new shuffled pass when
        fewer remain."""
        if len(self.pending) < count:
            epoch = list(range(self.size))
            self.rng.shuffle(epoch)
            self.pending.extend(epoch)
        taken, self.pending = self.pending[:count], self.pending[count:]
        return taken

    def state_dict(self) -> dict:
        return {"pending": list(self.pending)}

    def load_state_dict(self, state: dict) -> None:
        self.pending = list(state["pending"])
