"""What sharing the classifier's forward passes saves: MiniLM's time per
short message when it runs alone and when 2 to 32 messages share one pass
(what concurrent moderation threads do, moderation/classifier/embedder.py),
as ratios against the pass of one message measured in the same run.

    .venv/bin/python bench/moderation_batching.py [--repeats 20] [--out bench/results/moderation_batching.json]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import report_write  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--out", default=str(ROOT / "bench/results/moderation_batching.json"))
    args = parser.parse_args()
    from moderation.classifier.embedder import Embedder

    embedder = Embedder(dtype="auto")
    texts = [f"Tell me about the history of city number {i} and its people, please" for i in range(32)]
    report = {
        "cpu_count": os.cpu_count(),
        "load_average_before": os.getloadavg(),
        "dtype": embedder.dtype,
        "repeats": args.repeats,
        "batches": {},
    }
    for size in (1, 2, 4, 8, 16, 32):
        windows, _ = embedder.windows(texts[:size], 128, 96)
        embedder._embed_windows(windows, (6,), False)  # warm
        started = time.perf_counter()
        for _ in range(args.repeats):
            embedder._embed_windows(windows, (6,), False)
        per_pass = (time.perf_counter() - started) / args.repeats * 1000
        report["batches"][size] = {"ms_per_pass": round(per_pass, 2), "ms_per_message": round(per_pass / size, 2)}
    alone = report["batches"][1]["ms_per_message"]
    for row in report["batches"].values():
        row["per_message_vs_alone"] = round(row["ms_per_message"] / alone, 3)
    report_write(report, args.out)


if __name__ == "__main__":
    main()
