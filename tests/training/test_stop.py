"""Cancelling a job: SIGTERM to the CLI stops at the next step, saves the
model and exits 0 with summary.json status "stopped"."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from transformers import AutoModelForCausalLM

from ..helpers.polling import eventually

ROOT = Path(__file__).resolve().parents[2]


def run_and_terminate(kind: str, config: dict, tmp_path: Path, launcher=None) -> tuple[int, str]:
    """Runs the recipe's CLI (under `launcher`, e.g. torchrun's arguments)
    and sends it SIGTERM once metrics.jsonl has a line."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    metrics = Path(config["output_dir"]) / "metrics.jsonl"
    process = subprocess.Popen(
        [sys.executable, *(launcher or ["-m", f"training.{kind}"]), "--config", str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"},
    )
    try:

        def first_metrics_line():
            assert process.poll() is None, process.stdout.read()
            return metrics.exists() and metrics.read_text().strip()

        eventually(first_metrics_line, timeout=120, what="a metrics line")
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, out


@pytest.mark.parametrize("kind", ["pretrain", "sft"])
def test_sigterm_stops_saves_and_exits_0(kind, tmp_path, tiny_chat_dir, sft_file):
    out = tmp_path / "out"
    if kind == "pretrain":
        corpus = tmp_path / "corpus.txt"
        corpus.write_text("To be, or not to be, that is the question.\n" * 200)
        config = {
            "output_dir": str(out),
            "corpus": str(corpus),
            "vocab_size": 300,
            "n_layer": 1,
            "d_model": 32,
            "n_head": 2,
            "n_kv_head": 2,
            "d_ff": 64,
            "seq_len": 32,
            "batch_size": 4,
            "max_steps": 100000,
            "log_every": 1,
            "device": "cpu",
        }
    else:
        config = {
            "output_dir": str(out),
            "model": str(tiny_chat_dir),
            "train_file": str(sft_file),
            "max_steps": 100000,
            "batch_size": 2,
            "device": "cpu",
        }
    code, log = run_and_terminate(kind, config, tmp_path)
    assert code == 0, log
    assert "received SIGTERM" in log
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "stopped" and 0 < summary["steps"] < 100000
    AutoModelForCausalLM.from_pretrained(out)
