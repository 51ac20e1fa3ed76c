"""What a recipe writes as it goes, and how it learns it must stop.

`metrics.jsonl` gets one flushed JSON line per logged step; the jobs app
tails it for progress. `summary.json` is written last (atomically, by
rename), so its presence means the output directory is complete.
"""
from __future__ import annotations

import json
import math
import os
import signal
import sys
import time
from pathlib import Path


class StopSignal:
    """Turns SIGTERM and SIGINT into a flag the training loop checks at each
    step boundary: cancelling a job stops within a step and still saves the
    model, instead of dying mid-write."""

    def __init__(self):
        self.requested = False
        self._previous = {}

    def install(self) -> "StopSignal":
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


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return _clean(value.item())
    return value


class MetricsWriter:
    """Appends `{"step", "total_steps", "elapsed_s", ...metrics}` lines to
    output_dir/metrics.jsonl and echoes them to stdout. Only the main process
    of a distributed run writes (`enabled`)."""

    def __init__(self, output_dir: str | Path, total_steps: int, *, enabled: bool = True, progress=None):
        self.path = Path(output_dir) / "metrics.jsonl"
        self.total_steps = total_steps
        self.enabled = enabled
        self.progress = progress
        self.started = time.monotonic()
        self.last: dict = {}
        if enabled:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text("")

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def write(self, step: int, **metrics) -> dict:
        record = {"step": int(step), "total_steps": int(self.total_steps), "elapsed_s": round(self.elapsed(), 3)}
        record.update({key: _clean(value) for key, value in metrics.items() if value is not None})
        self.last.update({k: v for k, v in record.items() if k not in ("step", "total_steps", "elapsed_s")})
        if self.enabled:
            with open(self.path, "a", encoding="utf-8") as stream:
                stream.write(json.dumps(record) + "\n")
                stream.flush()
            shown = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items())
            print(shown, flush=True)
        if self.progress is not None:
            self.progress(record)
        return record


def write_summary(output_dir: str | Path, *, kind: str, stopped: bool, steps: int, wall_time_s: float,
                  final: dict, config: dict) -> dict:
    summary = {
        "kind": kind,
        "status": "stopped" if stopped else "completed",
        "steps": int(steps),
        "wall_time_s": round(wall_time_s, 3),
        "final": {key: _clean(value) for key, value in final.items()},
        "config": config,
    }
    path = Path(output_dir) / "summary.json"
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)
    return summary
