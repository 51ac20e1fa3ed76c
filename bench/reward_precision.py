"""The reward recipe's training step in fp32 and in bf16 (frozen weights
stored in bf16, LoRA and the score head fp32, autocast), interleaved group
by group in one process so both see the same machine.

    python bench/reward_precision.py [--pairs var/training/hh.jsonl] [--groups 40]
                                     [--out bench/results/reward_precision.json]

`--pairs`: preference JSONL as `python -m training.data hh-to-preference`
writes it (the HH harmless pairs). One step is the forward and backward of
one group (a chosen and a rejected answer, the last 320 tokens of each) on
the bundled SmolLM2-135M with LoRA r=16 on every layer, as the `cpu-quick`
preset trains.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main():
    import torch

    from training.data import load_preference_groups
    from training.device import cpu_has_amx
    from training.reward import RewardRecipeConfig, _forward_groups, group_loss, load_reward_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", default=str(ROOT / "var/training/hh.jsonl"))
    parser.add_argument("--model", default=str(ROOT / "var/models/smollm2-135m-instruct"))
    parser.add_argument("--groups", type=int, default=40)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=str(ROOT / "bench/results/reward_precision.json"))
    args = parser.parse_args()

    groups = load_preference_groups(args.pairs)[: args.groups + 1]
    base = RewardRecipeConfig(
        output_dir="unused",
        model=args.model,
        train_file=args.pairs,
        lora=True,
        lora_r=16,
        lora_alpha=32,
        max_length=320,
        device=args.device,
    )
    precisions = ("fp32", "bf16")
    models = {}
    for precision in precisions:
        torch.manual_seed(0)
        models[precision] = load_reward_model(replace(base, precision=precision), args.device)
    seconds = {precision: [] for precision in precisions}
    for index, group in enumerate(groups):
        order = precisions if index % 2 else precisions[::-1]
        for precision in order:
            model, tokenizer = models[precision]
            started = time.perf_counter()
            rewards = _forward_groups(model, tokenizer, [group], base.max_length, args.device, precision == "bf16")
            group_loss(rewards[0], group.pairs, use_margin=False).backward()
            model.zero_grad(set_to_none=True)
            if index:  # the first group warms both up
                seconds[precision].append(time.perf_counter() - started)
    report = {
        "machine": f"{os.cpu_count()} CPUs, AMX: {cpu_has_amx()}",
        "device": args.device,
        "torch_threads": torch.get_num_threads(),
        "groups": len(groups) - 1,
        "seconds_per_step": {p: statistics.mean(s) for p, s in seconds.items()},
        "seconds_per_step_median": {p: statistics.median(s) for p, s in seconds.items()},
    }
    report["bf16_speedup"] = sum(seconds["fp32"]) / sum(seconds["bf16"])
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
