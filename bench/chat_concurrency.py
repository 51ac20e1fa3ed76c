"""Many conversations at once through the whole stack (WebSocket client ->
Daphne -> Redis -> Celery worker -> model), for each local engine:
aggregate tokens per second and p50/p99 time to first token at 1, 4, 8 and
16 simultaneous conversations, with ratios against one conversation on the
`generate` engine measured in the same run.

    .venv/bin/python bench/chat_concurrency.py [--model DIR] [--levels 1,4,8,16] [--out FILE]

Needs a Redis (REDIS_URL). Moderation runs as configured; greedy decoding.
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

PROMPTS = [
    "Explain in a few sentences why the sky is blue.",
    "Write a short poem about the sea.",
    "Give me three tips for learning Python.",
    "What is the difference between a list and a tuple?",
    "Describe a cat to someone who has never seen one.",
    "Why do leaves change colour in autumn?",
    "Suggest a name for a small bakery.",
    "How does a bicycle stay upright?",
]


async def wave(url: str, cookie: str, n: int, max_new_tokens: int) -> dict:
    started = time.perf_counter()
    results = await asyncio.gather(
        *(one_answer(url, cookie, PROMPTS[i % len(PROMPTS)], max_new_tokens) for i in range(n))
    )
    elapsed = time.perf_counter() - started
    ttfts = sorted(r["ttft_ms"] for r in results)
    return {
        "conversations": n,
        "aggregate_tokens_per_second": sum(r["tokens"] for r in results) / elapsed,
        "ttft_ms_p50": statistics.median(ttfts),
        "ttft_ms_p99": ttfts[min(n - 1, int(n * 0.99))],
        "seconds": elapsed,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "var/models/smollm2-135m-instruct"))
    parser.add_argument("--levels", default="1,4,8,16")
    parser.add_argument("--engines", default="generate,continuous")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--out", default=str(ROOT / "bench/results/chat_concurrency.json"))
    args = parser.parse_args()
    levels = [int(n) for n in args.levels.split(",")]
    report = {"model": args.model, "max_new_tokens": args.max_new_tokens, "engines": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for engine in args.engines.split(","):
            with running_stack(args.model, Path(tmp) / engine, {"GENERATION_ENGINE": engine},
                               concurrency=max(levels)) as (url, cookie):
                asyncio.run(wave(url, cookie, 2, 8))  # model load and warm-up
                report["engines"][engine] = [asyncio.run(wave(url, cookie, n, args.max_new_tokens)) for n in levels]
    single = report["engines"][args.engines.split(",")[0]][0]["aggregate_tokens_per_second"]
    report["ratios_vs_one_conversation_on_first_engine"] = {
        engine: {str(r["conversations"]): r["aggregate_tokens_per_second"] / single for r in rows}
        for engine, rows in report["engines"].items()
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
