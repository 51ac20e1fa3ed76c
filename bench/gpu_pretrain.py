"""Pre-training on a GPU through the recipe itself (`python -m training.pretrain`):

1. time to 2.10 held-out bits per byte on tinyshakespeare (its last 10% held
   out), for the single-GPU preset and a wider variant, each with a 60 s
   training budget (the clock starts after the first step, which holds
   torch.compile's compilation; that warm-up is reported apart);
2. tokens per second and MFU of a GPT-2-small-sized Llama (about 124M
   parameters, sequence 1024, bf16, torch.compile, fused AdamW).

Each run is its own process. Results: bench/results/gpu_pretrain.json.

    python bench/gpu_pretrain.py --corpus corpus_tinyshakespeare.txt --tokenizer DIR [--only sweep|mfu] [--tiny]

`--tokenizer` is a tokenizer directory of a ~50k vocabulary for the MFU run
(the bundled SmolLM2's: 49,152). `--tiny` shrinks everything to check the
script on a CPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_BITS_PER_BYTE = 2.10

SWEEP = {
    "single-gpu preset": {"preset": "single-gpu"},
    "wider (8 x 512, dropout 0.25)": {
        "preset": "single-gpu",
        "n_layer": 8,
        "n_head": 8,
        "n_kv_head": 8,
        "d_model": 512,
        "d_ff": 2048,
        "dropout": 0.25,
        "lr": 1.5e-3,
    },
}
# Evaluate the whole held-out split often, to time the crossing finely.
SWEEP_COMMON = {"eval_every": 100, "eval_tokens": None}
GPT2_SMALL = {
    "preset": "multi-gpu",
    "batch_size": 32,
    "grad_accum": 2,
    "max_steps": 40,
    "log_every": 5,
    "eval_every": 1_000_000,
    "warmup_steps": 10,
}
TINY = {
    "device": "cpu",
    "compile": False,
    "n_layer": 2,
    "n_head": 2,
    "n_kv_head": 2,
    "d_model": 32,
    "d_ff": 64,
    "seq_len": 64,
    "batch_size": 8,
    "time_budget_s": 5.0,
    "vocab_size": 300,
}


def run_recipe(name: str, config: dict, workdir: Path) -> dict:
    out = workdir / name.split()[0]
    config = {**config, "output_dir": str(out)}
    path = workdir / f"{out.name}.json"
    path.write_text(json.dumps(config))
    started = time.perf_counter()
    process = subprocess.run(
        [sys.executable, "-m", "training.pretrain", "--config", str(path)], cwd=ROOT, capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    if process.returncode:
        return {"name": name, "error": process.stderr[-3000:], "process_wall_s": wall}
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    summary = json.loads((out / "summary.json").read_text())
    evals = [line for line in lines if "eval_bits_per_byte" in line]
    reached = next((line for line in evals if line["eval_bits_per_byte"] <= TARGET_BITS_PER_BYTE), None)
    speeds = [line["tokens_per_second"] for line in lines if "tokens_per_second" in line]
    mfus = [line["mfu"] for line in lines if "mfu" in line]
    return {
        "name": name,
        "config": summary["config"],
        "parameters": summary["final"]["parameters"],
        "steps": summary["steps"],
        "final_eval_bits_per_byte": summary["final"]["eval_bits_per_byte"],
        "best_eval_bits_per_byte": min(line["eval_bits_per_byte"] for line in evals),
        "train_s": summary["final"]["train_s"],
        "warmup_s": summary["final"]["warmup_s"],
        "process_wall_s": wall,
        "reached_target": reached is not None,
        "target_train_s": reached and reached["train_s"],
        "target_with_warmup_s": reached and reached["elapsed_s"],
        "target_step": reached and reached["step"],
        "tokens_per_second_median": statistics.median(speeds) if speeds else None,
        "mfu_median": statistics.median(mfus) if mfus else None,
        "curve": [(line["step"], line["train_s"], line["eval_bits_per_byte"]) for line in evals],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--tokenizer", help="tokenizer dir for the GPT-2-small MFU run")
    parser.add_argument("--only", choices=["sweep", "mfu"])
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "bench/results/gpu_pretrain.json"))
    args = parser.parse_args()
    import torch

    report = {
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        "torch": torch.__version__,
        "target_bits_per_byte": TARGET_BITS_PER_BYTE,
        "runs": [],
    }
    tiny = TINY if args.tiny else {}
    with tempfile.TemporaryDirectory() as tmp:
        jobs = []
        if args.only in (None, "sweep"):
            jobs += [
                (name, {**config, **SWEEP_COMMON, "corpus": args.corpus, **tiny}) for name, config in SWEEP.items()
            ]
        if args.only in (None, "mfu") and args.tokenizer:
            mfu = {**GPT2_SMALL, "corpus": args.corpus, "tokenizer": args.tokenizer}
            if args.tiny:
                mfu.update({**tiny, "max_steps": 6, "time_budget_s": None, "seq_len": 32, "batch_size": 2})
            jobs.append(("gpt2-small MFU", mfu))
        for name, config in jobs:
            result = run_recipe(name, config, Path(tmp))
            report["runs"].append(result)
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(report, indent=2))
            if "error" in result:
                print(f"{name}: FAILED\n{result['error']}", flush=True)
                continue
            print(
                f"{name}: {result['parameters'] / 1e6:.1f}M params, {result['steps']} steps, "
                f"final {result['final_eval_bits_per_byte']:.3f} bpb (best {result['best_eval_bits_per_byte']:.3f}), "
                f"{TARGET_BITS_PER_BYTE} reached: {result['reached_target']} at train {result['target_train_s']} s "
                f"(with warm-up {result['target_with_warmup_s']} s), warm-up {result['warmup_s']:.1f} s, "
                f"{result['tokens_per_second_median'] or 0:,.0f} tok/s, MFU {result['mfu_median']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
