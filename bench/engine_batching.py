"""The local engines without the rest of the stack: 1, 4, 8 and 16 requests
at once in threads of one process (as in the generation worker), greedy, the
same prompts for every engine. Aggregate tokens per second, p50/p99 time to
first token, ratios against one request on `generate` measured in the same
run, and whether each engine's greedy answers equal `generate`'s.

    .venv/bin/python bench/engine_batching.py [--model DIR] [--levels 1,4,8,16] \
        [--engines dynamic,generate] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.chat_concurrency import PROMPTS  # noqa: E402
from bench.report import report_write  # noqa: E402
from engine.backends import SamplingParams, load_local_backend  # noqa: E402


def wave(backend, n: int, max_new_tokens: int) -> tuple[dict, list[str]]:
    params = SamplingParams(temperature=0.0, max_new_tokens=max_new_tokens)
    streams, texts = [None] * n, [None] * n

    def one(i: int) -> None:
        streams[i] = backend.stream([{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}], params, lambda: False)
        texts[i] = "".join(streams[i])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    ttfts = sorted(s.ttft_seconds * 1000 for s in streams)
    return {
        "requests": n,
        "aggregate_tokens_per_second": sum(s.completion_tokens for s in streams) / elapsed,
        "ttft_ms_p50": statistics.median(ttfts),
        "ttft_ms_p99": ttfts[min(n - 1, int(n * 0.99))],
        "seconds": elapsed,
    }, texts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "var/models/smollm2-135m-instruct"))
    parser.add_argument("--levels", default="1,4,8,16")
    parser.add_argument("--engines", default="generate,dynamic")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--out", default=str(ROOT / "bench/results/engine_batching.json"))
    args = parser.parse_args()
    levels = [int(n) for n in args.levels.split(",")]
    engines = args.engines.split(",")
    report = {
        "model": args.model,
        "max_new_tokens": args.max_new_tokens,
        "cpu_count": os.cpu_count(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "load_average_before": os.getloadavg(),
        "engines": {},
        "greedy_answers_equal_generate": {},
    }
    backends = {engine: load_local_backend(args.model, engine=engine, device="cpu") for engine in engines}
    for backend in backends.values():
        wave(backend, 2, 8)  # warm-up
    # The levels alternate between engines, so a change in the machine's
    # load falls on all of them alike.
    for n in levels:
        texts = {}
        for engine, backend in backends.items():
            row, texts[engine] = wave(backend, n, args.max_new_tokens)
            report["engines"].setdefault(engine, []).append(row)
            print(engine, json.dumps(row), flush=True)
        if "generate" in texts:
            for engine in set(texts) - {"generate"}:
                report["greedy_answers_equal_generate"].setdefault(engine, {})[str(n)] = (
                    sum(a == b for a, b in zip(texts[engine], texts["generate"], strict=True)) / n
                )
    single = report["engines"][engines[0]][0]["aggregate_tokens_per_second"]
    report["ratios_vs_one_request_on_first_engine"] = {
        engine: {str(r["requests"]): r["aggregate_tokens_per_second"] / single for r in rows}
        for engine, rows in report["engines"].items()
    }
    report_write(report, args.out)


if __name__ == "__main__":
    main()
