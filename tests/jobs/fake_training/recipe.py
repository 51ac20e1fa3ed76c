"""The stand-in recipe's loop, shared by every kind. It keeps the recipes'
checkpoint contract: output_dir/checkpoint/ written every
`checkpoint_every` steps and when stopped, resumed from when it is there
(unless `resume` is false), and the summary's `resumed_from_step`."""

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

INPUTS = {
    "sft": ("model", "train_file"),
    "reward": ("model", "train_file"),
    "dpo": ("model", "train_file"),
    "ppo": ("policy_model", "reward_model", "prompts_file"),
}
KNOWN = {"output_dir", "max_steps", "step_seconds", "learning_rate", "seed", "device", "checkpoint_every", "resume"}
BAD_MARK = "BAD_EXAMPLE"
# Dies the way the kernel's OOM killer ends a process, after one step.
KILL_MARK = "KILL_ME"
# Ignores SIGTERM, so only SIGKILL stops it.
STUBBORN_MARK = "IGNORE_TERM"
# Prints its whole environment, as a crash dump or a chatty library would.
ENV_MARK = "PRINT_ENV"


def main(kind: str) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    config = json.loads(Path(parser.parse_args().config).read_text())
    unknown = sorted(set(config) - KNOWN - set(INPUTS[kind]))
    if unknown:
        sys.exit(f"error: unknown config key {unknown[0]!r}")
    data_key = INPUTS[kind][-1]
    lines = Path(config[data_key]).read_text().splitlines()
    for number, line in enumerate(lines, 1):
        if BAD_MARK in line:
            print(f"error: {data_key} line {number} is not a valid example", file=sys.stderr)
            sys.exit(1)
    if any(ENV_MARK in line for line in lines):
        for name, value in sorted(os.environ.items()):
            print(f"env {name}={value}", flush=True)
    stop = []
    stubborn = any(STUBBORN_MARK in line for line in lines)
    signal.signal(signal.SIGTERM, signal.SIG_IGN if stubborn else lambda *_: stop.append(True))
    out = Path(config["output_dir"])
    out.mkdir(parents=True, exist_ok=True)
    # Under torchrun every rank trains; only rank 0 writes (as the contract says).
    rank = int(os.environ.get("RANK", "0"))
    if rank != 0:
        out = Path(tempfile.mkdtemp(prefix=f"fake-{kind}-rank{rank}-"))
    total = int(config.get("max_steps", 6))
    every = int(config.get("checkpoint_every", 1))
    started = time.monotonic()
    print(
        f"{kind}: rank {rank} of {os.environ.get('WORLD_SIZE', '1')}, {len(lines)} examples, {total} steps", flush=True
    )
    resumed_from = _resume_step(out) if config.get("resume", True) else None
    step = resumed_from or 0
    if resumed_from is not None:
        print(f"{kind}: resumed from step {resumed_from}", flush=True)
    with open(out / "metrics.jsonl", "a") as metrics:
        while step < total and not stop:
            time.sleep(float(config.get("step_seconds", 0.2)))
            step += 1
            point = {
                "step": step,
                "total_steps": total,
                "elapsed_s": round(time.monotonic() - started, 3),
                "loss": round(2.0 / step, 4),
            }
            point.update({"reward": step * 0.1, "kl": step * 0.01} if kind == "ppo" else {"accuracy": step / total})
            metrics.write(json.dumps(point) + "\n")
            metrics.flush()
            print(f"step {step}/{total} loss {point['loss']}", flush=True)
            if step % every == 0:
                _save_checkpoint(out, step)
            if any(KILL_MARK in line for line in lines):
                os.kill(os.getpid(), signal.SIGKILL)
    if stop:
        _save_checkpoint(out, step)
    model = Path(config[INPUTS[kind][0]])
    shutil.copytree(model, out, dirs_exist_ok=True)
    status = "stopped" if stop else "completed"
    summary = {
        "kind": kind,
        "status": status,
        "steps": step,
        "wall_time_s": time.monotonic() - started,
        "final": {"loss": round(2.0 / max(step, 1), 4)},
        "config": config,
        "resumed_from_step": resumed_from,
    }
    (out / "summary.json").write_text(json.dumps(summary))
    print(f"{kind}: {status} after {step} steps", flush=True)


def _resume_step(out: Path) -> int | None:
    try:
        return json.loads((out / "checkpoint" / "state.json").read_text())["step"]
    except FileNotFoundError:
        return None


def _save_checkpoint(out: Path, step: int) -> None:
    """The step, written to a temporary file then renamed into place."""
    directory = out / "checkpoint"
    directory.mkdir(exist_ok=True)
    partial = directory / "state.json.partial"
    partial.write_text(json.dumps({"step": step}))
    os.replace(partial, directory / "state.json")
