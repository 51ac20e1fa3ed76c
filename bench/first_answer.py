"""Time to first token of the first answer after a worker starts, against
a later answer's in the same run (the warm baseline), through the whole
stack: a fresh Celery worker (moderation and generation queues, default
moderation layers) and web process per start, a WebSocket client.

    .venv/bin/python bench/first_answer.py [--model DIR] [--starts 3] [--out bench/results/first_answer.json]

Each start waits for what an operator would wait for before sending
traffic: the worker's `ready.` line, and, where `/healthz` reports
generation readiness, for it to say ready. Then one answer (the first),
then `--later` more; the figure is the first answer's TTFT over the
median later one's. Greedy decoding, so every answer writes the same
tokens. Needs a Redis (REDIS_URL).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stack import one_answer, running_stack  # noqa: E402

PROMPT = "Explain in a few sentences why the sky is blue."


def wait_for_generation_ready(url: str, timeout: float = 300.0) -> float:
    """Seconds spent until `/healthz` says generation is ready; 0 when it
    does not report generation readiness at all."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=10) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as error:
            body = json.loads(error.read())
        generation = body.get("generation")
        if generation is None:
            return 0.0
        if generation.get("ready"):
            return time.perf_counter() - started
        time.sleep(0.2)
    raise RuntimeError(f"generation not ready after {timeout} s")


def one_start(model: str, workdir: Path, later: int, max_new_tokens: int) -> dict:
    with running_stack(model, workdir) as (url, cookie):
        warming_s = wait_for_generation_ready(url)
        first = asyncio.run(one_answer(url, cookie, PROMPT, max_new_tokens))
        rest = [asyncio.run(one_answer(url, cookie, PROMPT, max_new_tokens)) for _ in range(later)]
    return {
        "waited_for_ready_s": warming_s,
        "first_ttft_ms": first["ttft_ms"],
        "later_ttft_ms": statistics.median(r["ttft_ms"] for r in rest),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "var/test/models/smollm2-135m-instruct"))
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--later", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--out", default=str(ROOT / "bench/results/first_answer.json"))
    args = parser.parse_args()
    if not (Path(args.model) / "config.json").exists():
        sys.exit(f"No model at {args.model}: run `make setup` (or scripts/test.sh) first, or pass --model.")

    starts = []
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(args.starts):
            starts.append(one_start(args.model, Path(tmp) / f"start{index}", args.later, args.max_new_tokens))
            print(json.dumps(starts[-1]), flush=True)
    first = statistics.median(s["first_ttft_ms"] for s in starts)
    later = statistics.median(s["later_ttft_ms"] for s in starts)
    report = {
        "model": args.model,
        "prompt": PROMPT,
        "starts": starts,
        "first_ttft_ms": first,
        "later_ttft_ms": later,
        "ratios": {"first_vs_later_ttft": first / later},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
