"""What a recipe writes as it goes.

`metrics.jsonl` gets one flushed JSON line per logged step; the jobs app
tails it for progress. `summary.json` is written last (atomically, by
rename), so its presence means the output directory is complete.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return _clean(value.item())
    return value


class MetricsWriter:
    """Appends `{"step", "total_steps", "elapsed_s", ...metrics}` lines to
    output_dir/metrics.jsonl and echoes them to stdout. Only the main process
    of a distributed run writes (`enabled`). A run resumed from a checkpoint
    of `resumed_step` keeps the lines up to that step (later ones are
    trained again) and its clock goes on from `elapsed_s`."""

    def __init__(
        self,
        output_dir: str | Path,
        total_steps: int,
        *,
        enabled: bool = True,
        progress=None,
        resumed_step: int | None = None,
        elapsed_s: float = 0.0,
    ):
        self.path = Path(output_dir) / "metrics.jsonl"
        self.total_steps = total_steps
        self.enabled = enabled
        self.progress = progress
        self.started = time.monotonic() - elapsed_s
        self.last: dict = {}
        if enabled:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if resumed_step is None:
                self.path.write_text("")
            else:
                keep_lines_through(self.path, resumed_step)

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


def keep_lines_through(path: Path, step: int) -> None:
    """Drops the JSON lines of `path` logged after `step`, and a torn last line."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if json.loads(line)["step"] <= step:
                kept.append(line + "\n")
        except (ValueError, KeyError, TypeError):
            continue
    path.write_text("".join(kept), encoding="utf-8")


def write_summary(
    output_dir: str | Path,
    *,
    kind: str,
    stopped: bool,
    steps: int,
    wall_time_s: float,
    final: dict,
    config: dict,
    resumed_from_step: int | None = None,
) -> dict:
    """`resumed_from_step`: the checkpoint's step this run went on from, None
    when it started from scratch."""
    summary = {
        "kind": kind,
        "status": "stopped" if stopped else "completed",
        "steps": int(steps),
        "resumed_from_step": resumed_from_step,
        "wall_time_s": round(wall_time_s, 3),
        "final": {key: _clean(value) for key, value in final.items()},
        "config": config,
    }
    path = Path(output_dir) / "summary.json"
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)
    return summary
