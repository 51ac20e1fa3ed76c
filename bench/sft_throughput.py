"""Training tokens per second of the SFT recipe (training.sft) against a
plain TRL SFTTrainer with its defaults, on the same demonstrations and model,
in one run.

    .venv/bin/python bench/sft_throughput.py [--model DIR] [--examples 50] [--steps 6] \
        [--out bench/results/training_sft_throughput.json]

Demonstrations: the first N HH-harmless prompts with their chosen answers
(messages format). Both trainers run `--steps` optimizer steps; the first
step (warm-up, lazy allocations) is left out of the timing. Tokens are the
non-padding input tokens TRL counts (`num_tokens`). What differs is each
side's settings: the recipe uses its preset (by default "cpu-quick": LoRA,
max_length 256, batch 4, no gradient checkpointing on CPU); TRL's defaults
are full fine-tuning, max_length 1024, batch 8, gradient checkpointing on,
and bf16 wherever the hardware has it (on a CPU, TRL's default needs
use_cpu, which the bench sets, and bf16 stays off).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HH = Path("/work/shared/data/preferences_hh_harmless_train.jsonl.gz")


def demonstrations(count: int, path: Path) -> Path:
    from training.data import hh_to_preference, read_jsonl, write_jsonl

    rows, _ = hh_to_preference(read_jsonl(HH))
    write_jsonl(path, ({"messages": r["prompt"] + r["chosen"]} for r in rows[:count]))
    return path


class StepTimer:
    """Times steps after the first, from the Trainer's step callbacks."""

    def __init__(self):
        from transformers import TrainerCallback

        timer = self

        class Callback(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                if state.global_step == 1:
                    timer.start = time.perf_counter()
                    timer.tokens_at_start = state.num_input_tokens_seen or 0
                timer.end = time.perf_counter()

        self.callback = Callback()
        self.start = self.end = None
        self.tokens_at_start = 0


def measured(trainer, timer: StepTimer) -> dict:
    trainer.add_callback(timer.callback)
    started = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - started
    logs = [entry for entry in trainer.state.log_history if "num_tokens" in entry]
    # num_tokens after each logged step (logging_steps=1).
    tokens = [entry["num_tokens"] for entry in logs]
    steady_tokens = tokens[-1] - tokens[0]
    steady_time = timer.end - timer.start
    return {
        "steps": trainer.state.global_step,
        "wall_s": round(wall, 2),
        "tokens": tokens[-1],
        "steady_tokens": steady_tokens,
        "steady_s": round(steady_time, 2),
        "tokens_per_second": round(steady_tokens / steady_time, 1),
    }


def recipe_run(model: str, data: Path, steps: int, preset: str) -> dict:
    from training.config import build_config
    from training.sft import SftRecipeConfig, build_trainer

    config = build_config(
        SftRecipeConfig,
        {
            "preset": preset,
            "output_dir": tempfile.mkdtemp(),
            "model": model,
            "train_file": str(data),
            "max_steps": steps,
            "device": "auto",
        },
    )
    timer = StepTimer()
    result = measured(build_trainer(config), timer)
    result["settings"] = {k: getattr(config, k) for k in ("lora", "max_length", "batch_size", "grad_accum", "packing")}
    return result


def trl_default_run(model: str, data: Path, steps: int) -> dict:
    import torch
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    rows = [json.loads(line) for line in data.read_text().splitlines()]
    args = SFTConfig(
        output_dir=tempfile.mkdtemp(),
        max_steps=steps,
        report_to="none",
        logging_steps=1,
        save_strategy="no",
        use_cpu=not torch.cuda.is_available(),
        disable_tqdm=True,
    )
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows))
    timer = StepTimer()
    result = measured(trainer, timer)
    result["settings"] = {
        "lora": False,
        "max_length": args.max_length,
        "batch_size": args.per_device_train_batch_size,
        "gradient_checkpointing": args.gradient_checkpointing,
        "bf16": args.bf16,
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "var/models/smollm2-135m-instruct"))
    parser.add_argument("--examples", type=int, default=50)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--preset", default="cpu-quick")
    parser.add_argument("--out", default=str(ROOT / "bench/results/training_sft_throughput.json"))
    args = parser.parse_args()
    import torch

    data = demonstrations(args.examples, Path(tempfile.mkdtemp()) / "sft.jsonl")
    recipe = recipe_run(args.model, data, args.steps, args.preset)
    baseline = trl_default_run(args.model, data, args.steps)
    result = {
        "bench": "sft_throughput",
        "model": args.model,
        "examples": args.examples,
        "steps": args.steps,
        "device": "cuda" if torch.cuda.is_available() else f"cpu ({torch.get_num_threads()} threads)",
        "machine": platform.processor() or platform.machine(),
        "recipe": recipe,
        "trl_defaults": baseline,
        "speedup_tokens_per_second": round(recipe["tokens_per_second"] / baseline["tokens_per_second"], 2),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
