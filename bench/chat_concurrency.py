"""Many conversations at once through the whole stack (WebSocket client ->
Daphne -> Redis -> Celery worker -> model), for each local engine (by
default `generate` and `dynamic`; transformers' `continuous` on request):
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
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import report_write  # noqa: E402
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


def fresh_postgres_database(server_url: str, name: str) -> str:
    """Many conversations write at once: PostgreSQL rather than one SQLite file."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url.rsplit('/', 1)[0]}/{name}"


async def wave(url: str, cookie: str, n: int, max_new_tokens: int) -> dict:
    started = time.perf_counter()
    results = await asyncio.gather(
        *(
            asyncio.wait_for(one_answer(url, cookie, PROMPTS[i % len(PROMPTS)], max_new_tokens), timeout=900)
            for i in range(n)
        )
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
    parser.add_argument(
        "--engines",
        default="generate,dynamic",
        help="ENGINE[:DTYPE],... (DTYPE float32 or bfloat16; by default the engine's)",
    )
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--out", default=str(ROOT / "bench/results/chat_concurrency.json"))
    parser.add_argument(
        "--postgres",
        default="",
        help="a PostgreSQL URL whose role may create databases; "
        "each stack then gets a fresh database there instead of SQLite",
    )
    args = parser.parse_args()
    levels = [int(n) for n in args.levels.split(",")]
    engines = args.engines.split(",")
    report = {
        "model": args.model,
        "max_new_tokens": args.max_new_tokens,
        "cpu_count": os.cpu_count(),
        "load_average_before": os.getloadavg(),
        "engines": {engine: [] for engine in engines},
    }
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stacks:
        # Every engine's stack is up at once and the levels alternate between
        # them, so a change in the machine's load falls on all engines alike.
        urls = {}
        for index, engine in enumerate(engines):
            # Each stack its own Redis database: its own broker queues.
            redis_url = f"{os.environ.get('REDIS_URL', 'redis://127.0.0.1:6379/0').rsplit('/', 1)[0]}/{10 + index}"
            name, _, dtype = engine.partition(":")
            extra_env = {"GENERATION_ENGINE": name, "GENERATION_DTYPE": dtype or "auto", "REDIS_URL": redis_url}
            if args.postgres:
                extra_env["DATABASE_URL"] = fresh_postgres_database(args.postgres, f"bench_concurrency_{index}")
            urls[engine] = stacks.enter_context(
                running_stack(args.model, Path(tmp) / engine.replace(":", "-"), extra_env, concurrency=max(levels))
            )
            asyncio.run(wave(*urls[engine], 2, 8))  # model load and warm-up
        for n in levels:
            for engine in engines:
                row = asyncio.run(wave(*urls[engine], n, args.max_new_tokens))
                report["engines"][engine].append(row)
                print(engine, json.dumps(row), flush=True)
    single = report["engines"][engines[0]][0]["aggregate_tokens_per_second"]
    report["ratios_vs_one_conversation_on_first_engine"] = {
        engine: {str(r["conversations"]): r["aggregate_tokens_per_second"] / single for r in rows}
        for engine, rows in report["engines"].items()
    }
    report_write(report, args.out)


if __name__ == "__main__":
    main()
