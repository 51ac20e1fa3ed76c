"""The same CLI under torchrun: two CPU processes (gloo), of which only
rank 0 writes metrics, summary and model."""

import json
import os
import subprocess
import sys
from pathlib import Path

from transformers import AutoModelForSequenceClassification

from .conftest import read_metrics

ROOT = Path(__file__).resolve().parents[2]


def test_reward_under_torchrun(tmp_path, tiny_chat_dir, preference_file):
    out = tmp_path / "out"
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "output_dir": str(out),
                "model": str(tiny_chat_dir),
                "train_file": str(preference_file),
                "max_steps": 3,
                "groups_per_step": 2,
                "lr": 1e-3,
                "eval_fraction": 0.25,
                "max_length": 64,
                "device": "cpu",
            }
        )
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "-m",
            "training.reward",
            "--config",
            str(config),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = read_metrics(out)
    assert [line["step"] for line in lines if "loss" in line] == [1, 2, 3]  # one writer, not two
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["final"]["eval_pairs"] == 9  # both ranks' shards
    AutoModelForSequenceClassification.from_pretrained(out)


def test_reward_under_torchrun_resumes_from_each_ranks_checkpoint(tmp_path, tiny_chat_dir, preference_file):
    """Cancelled under torchrun, every process saves its part of the
    checkpoint; launched again, both go on from it."""
    from .test_stop import run_and_terminate

    out = tmp_path / "out"
    config = {
        "output_dir": str(out),
        "model": str(tiny_chat_dir),
        "train_file": str(preference_file),
        "max_steps": 400,
        "groups_per_step": 2,
        "lr": 1e-3,
        "eval_fraction": 0.25,
        "max_length": 64,
        "device": "cpu",
    }
    launcher = ["-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "training.reward"]
    # torchrun passes the SIGTERM on to its workers, waits for them, and then
    # exits 1 itself (SignalException).
    _, log = run_and_terminate("reward", config, tmp_path, launcher=launcher)
    assert (out / "summary.json").exists(), log[-2000:]
    stopped = json.loads((out / "summary.json").read_text())
    assert stopped["status"] == "stopped"
    assert sorted(path.name for path in (out / "checkpoint").iterdir()) == ["rank-0.pt", "rank-1.pt", "state.pt"]
    config_path = tmp_path / "again.json"
    config_path.write_text(json.dumps({**config, "max_steps": stopped["steps"] + 2}))
    result = subprocess.run(
        [sys.executable, *launcher, "--config", str(config_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["resumed_from_step"] == stopped["steps"] and summary["steps"] == stopped["steps"] + 2
    assert not (out / "checkpoint").exists()
