"""Labeling figures: the HH-RLHF file through `import_prompts` (with its
ready preference snapshot) and back out through `export_dataset`, in items
per second; and the consensus on simulated annotators of known noise.

    python bench/labeling.py [--hh ../shared/data/preferences_hh_harmless_train.jsonl.gz]
                             [--out bench/results/labeling.json] [--repeats 3]

Runs on a throw-away SQLite database in a temporary DATA_DIR (DATABASE_URL
in the environment picks another). The simulation: 200 items, K = 5, five
annotators who each swap every adjacent pair of the true order with
probability 0.10, 0.15, 0.20, 0.25 or 0.30; accuracy is pairwise agreement
with the true order.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NOISE = [0.10, 0.15, 0.20, 0.25, 0.30]
RANDOM = None  # an annotator who ranks at random


def noisy(order: list[int], p: float | None, rng: random.Random) -> list[int]:
    """One pass down the list, swapping each adjacent pair with probability
    p; p RANDOM: any order."""
    if p is RANDOM:
        return rng.sample(order, len(order))
    order = list(order)
    for i in range(len(order) - 1):
        if rng.random() < p:
            order[i], order[i + 1] = order[i + 1], order[i]
    return order


def simulate(seed: int, noise: list[float | None] = NOISE, items: int = 200, k: int = 5) -> dict:
    """Every annotator ranks every item (tests/labeling/test_consensus.py
    runs this too). Accuracy is agreement with the hidden true order."""
    from labeling.consensus import consensus, fit, pairwise_agreement

    rng = random.Random(seed)
    truth, rankings = {}, {}
    for item in range(items):
        order = rng.sample(range(item * 100, item * 100 + k), k)
        truth[item] = [[c] for c in order]
        rankings[item] = {a: [[c] for c in noisy(order, p, rng)] for a, p in enumerate(noise)}
    fitted = fit(rankings)

    def accuracy(groups_of) -> float:
        return sum(pairwise_agreement(groups_of(item), truth[item]) for item in truth) / items

    return {
        "weighted_consensus": accuracy(lambda item: fitted.items[item].groups),
        "unweighted_consensus": accuracy(lambda item: consensus((g, 1.0) for g in rankings[item].values())[0]),
        "annotators": [accuracy(lambda item, a=a: rankings[item][a]) for a in range(len(noise))],
        "fitted_agreement": [fitted.annotators[a][0] for a in range(len(noise))],
    }


def import_export(hh: str, repeats: int) -> dict:
    import django
    from django.core.management import call_command

    django.setup()
    from labeling.models import DatasetSnapshot, Prompt, PromptImport

    call_command("migrate", verbosity=0)
    runs = []
    for repeat in range(repeats):
        # Each repeat starts from an empty pool, so every import creates everything.
        PromptImport.objects.all().delete()
        DatasetSnapshot.objects.all().delete()
        Prompt.objects.all().delete()
        started = time.perf_counter()
        call_command("import_prompts", hh, "--format", "hh", "--snapshot", f"hh-{repeat}", stdout=open(os.devnull, "w"))
        imported = time.perf_counter() - started
        record = PromptImport.objects.latest("pk")
        snapshot = DatasetSnapshot.objects.get(name=f"hh-{repeat}")
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            call_command(
                "export_dataset",
                f"hh-{repeat}",
                "--format",
                "preference",
                "--output",
                f"{tmp}/p.jsonl",
                stderr=open(os.devnull, "w"),
            )
            exported = time.perf_counter() - started
            lines = sum(1 for _ in open(f"{tmp}/p.jsonl"))
        runs.append(
            {
                "items": record.counts["items"],
                "prompts_created": record.counts["prompts_created"],
                "snapshot_items": snapshot.item_count,
                "import_with_snapshot_s": imported,
                "export_s": exported,
                "export_lines": lines,
            }
        )
    items, lines = runs[0]["items"], runs[0]["export_lines"]
    return {
        "runs": runs,
        "import_items_per_second_median": statistics.median(items / r["import_with_snapshot_s"] for r in runs),
        "export_items_per_second_median": statistics.median(r["snapshot_items"] / r["export_s"] for r in runs),
        "export_lines_per_second_median": statistics.median(lines / r["export_s"] for r in runs),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hh", default=str(ROOT.parent / "shared/data/preferences_hh_harmless_train.jsonl.gz"))
    parser.add_argument("--out", default=str(ROOT / "bench/results/labeling.json"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="bench-labeling-")
    os.environ.setdefault("DATA_DIR", data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    report = {"machine": f"{os.cpu_count()} CPUs", "database": os.environ.get("DATABASE_URL", "sqlite (temporary)")}
    report["hh"] = import_export(args.hh, args.repeats)
    report["simulation"] = {
        "noise": NOISE,
        "items": 200,
        "k": 5,
        "seeds": {seed: simulate(seed) for seed in range(1, 6)},
    }
    seeds = report["simulation"]["seeds"].values()
    report["simulation"]["summary"] = {
        "weighted_consensus_range": [
            min(s["weighted_consensus"] for s in seeds),
            max(s["weighted_consensus"] for s in seeds),
        ],
        "unweighted_consensus_range": [
            min(s["unweighted_consensus"] for s in seeds),
            max(s["unweighted_consensus"] for s in seeds),
        ],
        "best_annotator_range": [min(max(s["annotators"]) for s in seeds), max(max(s["annotators"]) for s in seeds)],
        "agreement_orders_annotators_by_noise": all(
            s["fitted_agreement"] == sorted(s["fitted_agreement"], reverse=True) for s in seeds
        ),
    }
    Path(args.out).write_text(json.dumps(report, indent=2))
    hh, summary = report["hh"], report["simulation"]["summary"]
    print(
        f"HH import (with snapshot): {hh['import_items_per_second_median']:,.0f} items/s; export: "
        f"{hh['export_items_per_second_median']:,.0f} items/s ({hh['export_lines_per_second_median']:,.0f} lines/s)"
    )
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
