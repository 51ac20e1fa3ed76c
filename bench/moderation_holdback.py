"""What the streamed output gate (moderation.holdback.OutputGate) adds to the
time until an answer's first text is visible, offline: a real chat model
streams its answer (greedy, `TextIteratorStreamer`), and the consumer loop
feeds each delta to the gate as the generation worker does, with the
default output moderation layers.

    .venv/bin/python bench/moderation_holdback.py [--model DIR] [--holdback 48 16 96]
        [--out bench/results/moderation_holdback.json]

Per answer: the time from the first generated token (what users would see
with the hold-back off) to the first text the gate releases. The gate waits
for a sentence end or `holdback` characters, then for one `moderate` call;
both are in the figure. Medians over the prompts; the same prompts and
greedy tokens for every hold-back size. `--threads` (default 1) caps torch's
threads: on a 2-core machine shared with other jobs, two spinning threads
per process made generation erratic (seconds per token), and the figure of
interest is tied to the token rate, which the report gives.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.moderation_eval import setup_django  # noqa: E402

PROMPTS = [
    "Explain in a few sentences why the sky is blue.",
    "Give me three tips for a good night's sleep.",
    "What is the capital of France, and what is it known for?",
    "Write a short poem about autumn leaves.",
    "How do I boil an egg?",
    "Summarise the plot of Romeo and Juliet.",
]


def stream_answer(model, tokenizer, prompt: str, max_new_tokens: int, holdback: int | None) -> dict:
    """One greedy answer streamed through the gate (`holdback` None: no
    gate, every delta visible at once)."""
    import torch
    from transformers import TextIteratorStreamer

    from moderation.holdback import OutputGate

    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )["input_ids"]
    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=60)

    generated = []

    def generate():
        with torch.inference_mode():
            out = model.generate(
                ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                streamer=streamer,
                pad_token_id=tokenizer.eos_token_id,
            )
        generated.append(out.shape[1] - ids.shape[1])

    gate = OutputGate(holdback) if holdback is not None else None
    started = time.perf_counter()
    worker = threading.Thread(target=generate)
    worker.start()
    first_token = first_visible = None
    for delta in streamer:
        if not delta:
            continue
        now = time.perf_counter()
        first_token = first_token or now
        shown = gate.feed(delta) if gate else delta
        if shown and first_visible is None:
            first_visible = time.perf_counter()
    if gate is not None:
        tail = gate.finish()
        if tail and first_visible is None:
            first_visible = time.perf_counter()
    worker.join()
    finished = time.perf_counter()
    return {
        "first_token_ms": (first_token - started) * 1000,
        "first_visible_ms": (first_visible - started) * 1000,
        "added_ms": (first_visible - first_token) * 1000,
        "total_ms": (finished - started) * 1000,
        "moderation_ms": gate.moderation_seconds * 1000 if gate else 0.0,
        "flagged": bool(gate and gate.verdict),
        "tokens_per_second": generated[0] / (finished - first_token),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "var/models/smollm2-135m-instruct"))
    parser.add_argument("--holdback", type=int, nargs="+", default=[48, 16, 96])
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's default)")
    parser.add_argument("--out", default=str(ROOT / "bench/results/moderation_holdback.json"))
    args = parser.parse_args()
    if not (Path(args.model) / "config.json").exists():
        sys.exit(f"No model at {args.model}: run `make setup` first, or pass --model.")

    setup_django(tempfile.mkdtemp(prefix="moderation-holdback-"))
    import torch
    from django.conf import settings
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from moderation.pipeline import moderate

    if args.threads:
        torch.set_num_threads(args.threads)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32).eval()
    moderate("warm-up of the output layers.", "assistant")
    stream_answer(model, tokenizer, PROMPTS[0], 8, 48)  # warm-up of the model

    runs: dict[str, list[dict]] = {}
    for prompt in PROMPTS:  # configurations interleaved per prompt: load drifts hit all alike
        for holdback in [None, *args.holdback]:
            name = "off" if holdback is None else f"{holdback}_chars"
            runs.setdefault(name, []).append(stream_answer(model, tokenizer, prompt, args.max_new_tokens, holdback))
    summary = {
        name: {
            key: statistics.median(run[key] for run in items)
            for key in (
                "first_token_ms",
                "first_visible_ms",
                "added_ms",
                "total_ms",
                "moderation_ms",
                "tokens_per_second",
            )
        }
        | {"flagged_answers": sum(run["flagged"] for run in items)}
        for name, items in runs.items()
    }
    default = f"{settings.MODERATION_HOLDBACK_CHARS}_chars"
    report = {
        "model": args.model,
        "output_layers": list(settings.MODERATION_OUTPUT_LAYERS),
        "default_holdback_chars": settings.MODERATION_HOLDBACK_CHARS,
        "prompts": len(PROMPTS),
        "max_new_tokens": args.max_new_tokens,
        "torch_threads": torch.get_num_threads(),
        "median": summary,
        "added_first_visible_ms_default_vs_off": (
            summary[default]["first_visible_ms"] - summary["off"]["first_visible_ms"] if default in summary else None
        ),
        "runs": runs,
        "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg()},
    }
    for name, item in summary.items():
        print(
            f"  {name:10s} first token {item['first_token_ms']:7.1f} ms"
            f"   first visible {item['first_visible_ms']:7.1f} ms"
            f"   added {item['added_ms']:6.1f} ms   moderation per answer {item['moderation_ms']:6.1f} ms"
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
