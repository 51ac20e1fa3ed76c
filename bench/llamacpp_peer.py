"""The peer a CPU user would pick instead: llama.cpp (llama-cpp-python) on
the bundled GGUF, against our engines on the model converted from that same
file, with the same prompts, in the same run: one request, then 8 at once.

llama-cpp-python's server answers one request at a time (one model context
behind a lock), so 8 conversations there queue behind each other; this runs
its `Llama` the same way, in threads behind a lock, without the HTTP layer
(ours runs without the stack too: bench/engine_batching.py's harness).
llama.cpp runs first, then each of our engines.

    .venv/bin/pip install -r requirements-bench.txt   # compiles llama.cpp, minutes
    .venv/bin/python bench/llamacpp_peer.py [--levels 1,8] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.chat_concurrency import PROMPTS  # noqa: E402
from bench.engine_batching import wave  # noqa: E402
from bench.report import report_write  # noqa: E402
from engine.backends import load_local_backend  # noqa: E402
from engine.bundled import find_bundled_gguf  # noqa: E402


def llamacpp_wave(llm, lock: threading.Lock, n: int, max_new_tokens: int, prompts: list[str] = PROMPTS) -> dict:
    ttfts, tokens = [None] * n, [0] * n

    def one(i: int) -> None:
        started = time.perf_counter()
        with lock:
            chunks = llm.create_chat_completion(
                [{"role": "user", "content": prompts[i % len(prompts)]}],
                temperature=0.0,
                max_tokens=max_new_tokens,
                stream=True,
            )
            for chunk in chunks:
                if chunk["choices"][0]["delta"].get("content"):
                    # One chunk per generated token (llama-cpp-python streams token by token).
                    tokens[i] += 1
                    if ttfts[i] is None:
                        ttfts[i] = (time.perf_counter() - started) * 1000

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    ordered = sorted(ttfts)
    return {
        "requests": n,
        "aggregate_tokens_per_second": sum(tokens) / elapsed,
        "ttft_ms_p50": statistics.median(ordered),
        "ttft_ms_p99": ordered[min(n - 1, int(n * 0.99))],
        "seconds": elapsed,
    }


def llamacpp_rows(levels: list[int], max_new_tokens: int) -> tuple[str, list[dict]]:
    """All of llama.cpp's waves, in a process of its own: its OpenMP runtime
    and torch's never share one. n_batch=1: this build (llama.cpp's native
    AVX-512/AMX kernels) crashes evaluating several prompt tokens at once on
    this CPU, so prompts are read a token at a time, which slows its first
    token, not its decoding."""
    from llama_cpp import Llama, __version__

    llm = Llama(
        model_path=str(find_bundled_gguf()), n_ctx=2048, n_threads=os.cpu_count(), n_batch=1, n_ubatch=1, verbose=False
    )
    lock = threading.Lock()
    # Warm-up on another prompt: llama-cpp-python reuses the cache of a
    # repeated prompt, which would flatter the first measured request.
    llamacpp_wave(llm, lock, 1, 8, ["Say hello."])
    rows = []
    for n in levels:
        rows.append(llamacpp_wave(llm, lock, n, max_new_tokens))
        print("llama.cpp", json.dumps(rows[-1]), flush=True)
    return __version__, rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "var/models/smollm2-135m-instruct"))
    parser.add_argument("--levels", default="1,8")
    parser.add_argument("--engines", default="dynamic,generate")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--out", default=str(ROOT / "bench/results/engine_llamacpp_peer.json"))
    args = parser.parse_args()
    levels = [int(n) for n in args.levels.split(",")]
    report = {
        "gguf": find_bundled_gguf().name,
        "model": args.model,
        "max_new_tokens": args.max_new_tokens,
        "cpu_count": os.cpu_count(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "load_average_before": os.getloadavg(),
        "engines": {},
    }
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        report["llama_cpp_python"], report["engines"]["llama.cpp"] = pool.apply(
            llamacpp_rows, (levels, args.max_new_tokens)
        )
    for engine in args.engines.split(","):
        backend = load_local_backend(args.model, engine=engine, device="cpu")
        wave(backend, 2, 8)  # warm-up
        for n in levels:
            row, _ = wave(backend, n, args.max_new_tokens)
            report["engines"].setdefault(engine, []).append(row)
            print(engine, json.dumps(row), flush=True)
        del backend
    report["ratios_vs_llamacpp_at_same_level"] = {
        engine: {
            str(r["requests"]): r["aggregate_tokens_per_second"] / peer["aggregate_tokens_per_second"]
            for r, peer in zip(rows, report["engines"]["llama.cpp"], strict=True)
        }
        for engine, rows in report["engines"].items()
        if engine != "llama.cpp"
    }
    report_write(report, args.out)


if __name__ == "__main__":
    main()
