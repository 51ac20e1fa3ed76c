"""Latency alone (no cross-validation): p50/p99 of single `moderate`
calls for the default layers and each layer alone, and `moderate_many`'s
throughput, with the functions of bench/moderation_eval.py. For a rerun
when the machine is quiet (the load average goes into the report).

    .venv/bin/python bench/moderation_latency.py [--samples 300] [--out bench/results/moderation_latency.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.moderation_eval import latency, setup_django, throughput  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "moderation_dev.jsonl"))
    parser.add_argument("--samples", type=int, default=300, help="texts timed per configuration")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "moderation_latency.json"))
    args = parser.parse_args()

    setup_django(tempfile.mkdtemp(prefix="moderation-latency-"))
    from django.conf import settings

    from moderation.classifier.train import read_openai_jsonl

    texts = read_openai_jsonl(args.data)[0][: args.samples]
    default_layers = list(settings.MODERATION_LAYERS)
    load_before = os.getloadavg()
    report = {"texts": len(texts), "default_layers": default_layers, "latency": {}}
    for name, layers in [
        ("default", default_layers),
        *[(layer, [layer]) for layer in ("rules", "profanity", "classifier")],
    ]:
        report["latency"][name] = latency(texts, layers)
    report["latency"]["moderate_many"] = throughput(texts, default_layers)
    report["machine"] = {
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }
    for name, item in report["latency"].items():
        if "p50_ms" in item:
            print(f"  {name:12s} p50 {item['p50_ms']:7.2f} ms   p99 {item['p99_ms']:7.2f} ms")
    batched = report["latency"]["moderate_many"]
    print(f"  moderate_many, batches of {batched['batch']}: {batched['ratio']:.2f}x the single-call rate")
    print(f"  load average before {load_before}, after {report['machine']['load_average_after']}")
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
