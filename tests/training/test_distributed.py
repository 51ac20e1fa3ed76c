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
    config.write_text(json.dumps({
        "output_dir": str(out), "model": str(tiny_chat_dir), "train_file": str(preference_file), "max_steps": 3,
        "groups_per_step": 2, "lr": 1e-3, "eval_fraction": 0.25, "max_length": 64, "device": "cpu"}))
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "training.reward",
         "--config", str(config)],
        cwd=ROOT, capture_output=True, text=True, timeout=240, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    lines = read_metrics(out)
    assert [line["step"] for line in lines if "loss" in line] == [1, 2, 3]  # one writer, not two
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["final"]["eval_pairs"] == 9  # both ranks' shards
    AutoModelForSequenceClassification.from_pretrained(out)
