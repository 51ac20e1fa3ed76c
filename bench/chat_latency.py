"""Time to first token and tokens per second of the chat model as a
WebSocket client sees them through the whole stack (Daphne consumer, Redis,
Celery moderation and generation workers), against `model.generate` on the
same prompt, model and machine, in the same run.

    .venv/bin/python bench/chat_latency.py [--model DIR] [--runs 5] [--out bench/results/chat_latency.json]

Needs a Redis (REDIS_URL, default redis://127.0.0.1:6379/0). The stack is
measured twice: with moderation off and every token released at once (the
cost of the stack itself), and with the default moderation layers and
output hold-back (what users get). Greedy decoding, so every run writes the
same tokens. Throughput is compared on the whole answer's wall time, from
the request to the last token.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stack import one_answer, running_stack  # noqa: E402

PROMPT = "Explain in a few sentences why the sky is blue."


def stack_dtype():
    """The dtype the stack's engine loads the model in on this CPU, so that
    the baseline runs the same arithmetic."""
    import os

    import torch

    from engine.backends import resolve_dtype

    engine = os.environ.get("GENERATION_ENGINE", "auto")
    engine = "dynamic" if engine == "auto" else engine
    return resolve_dtype(os.environ.get("GENERATION_DTYPE", "auto"), engine, "cpu") or torch.float32


def measure_generate(model_dir: str, max_new_tokens: int, runs: int) -> list[dict]:
    """The baseline: plain `model.generate` with a streamer that only notes
    when the first new token arrives."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.generation.streamers import BaseStreamer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=stack_dtype()).eval()
    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": PROMPT}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )["input_ids"]

    class FirstToken(BaseStreamer):
        def __init__(self):
            self.calls, self.first = 0, None

        def put(self, value):
            self.calls += 1
            if self.calls == 2:  # the first call carries the prompt
                self.first = time.perf_counter()

        def end(self):
            pass

    results = []
    for _ in range(runs):
        streamer = FirstToken()
        started = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(
                ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                streamer=streamer,
                pad_token_id=tokenizer.eos_token_id,
            )
        finished = time.perf_counter()
        tokens = out.shape[1] - ids.shape[1]
        results.append(
            {"ttft_ms": (streamer.first - started) * 1000, "tokens": tokens, "total_ms": (finished - started) * 1000}
        )
    return results


def measure_stack(model_dir: str, max_new_tokens: int, runs: int, moderation: dict, workdir: Path) -> list[dict]:
    with running_stack(model_dir, workdir, moderation) as (url, cookie):
        asyncio.run(one_answer(url, cookie, PROMPT, 4))  # the worker loads the model
        return [asyncio.run(one_answer(url, cookie, PROMPT, max_new_tokens)) for _ in range(runs)]


def summary(results: list[dict]) -> dict:
    medians = {key: statistics.median(r[key] for r in results) for key in ("ttft_ms", "total_ms", "tokens")}
    medians["tokens_per_second"] = medians["tokens"] / medians["total_ms"] * 1000
    return medians


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "var/models/smollm2-135m-instruct"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--out", default=str(ROOT / "bench/results/chat_latency.json"))
    args = parser.parse_args()
    if not (Path(args.model) / "config.json").exists() and not Path(args.model).exists():
        sys.exit(f"No model at {args.model}: run `make setup` first, or pass --model.")

    with tempfile.TemporaryDirectory() as tmp:
        baseline = summary(measure_generate(args.model, args.max_new_tokens, args.runs))
        bare = summary(
            measure_stack(
                args.model,
                args.max_new_tokens,
                args.runs,
                {"MODERATION_LAYERS": "", "MODERATION_OUTPUT_LAYERS": ""},
                Path(tmp) / "bare",
            )
        )
        moderated = summary(measure_stack(args.model, args.max_new_tokens, args.runs, {}, Path(tmp) / "default"))
    report = {
        "model": args.model,
        "dtype": str(stack_dtype()),
        "prompt": PROMPT,
        "runs": args.runs,
        "max_new_tokens": args.max_new_tokens,
        "generate": baseline,
        "stack_moderation_off": bare,
        "stack_default": moderated,
        "ratios": {
            "throughput_stack_vs_generate": bare["tokens_per_second"] / baseline["tokens_per_second"],
            "throughput_stack_default_vs_generate": moderated["tokens_per_second"] / baseline["tokens_per_second"],
            "ttft_added_ms_by_stack": bare["ttft_ms"] - baseline["ttft_ms"],
            "ttft_added_ms_by_moderation": moderated["ttft_ms"] - bare["ttft_ms"],
        },
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
