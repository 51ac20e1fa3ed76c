"""Moderation quality and latency on the OpenAI moderation evaluation
sample: the default pipeline and each layer alone.

    .venv/bin/python bench/moderation_eval.py [--data ../shared/data/moderation_dev.jsonl]
        [--repeats 10] [--guard [--guard-model DIR] [--guard-samples 100]] [--out bench/results/moderation_eval.json]

Quality: AUPRC of the verdict's score for the overall unsafe/safe label (a
text is unsafe when any label is 1), F1 at the configured thresholds
(`verdict.flagged`), the best F1 over thresholds, and AUPRC/F1 per labelled
category. The classifier is trained on this very file, so its figures are
out-of-fold: heads trained on four folds score the fifth (5-fold, repeated
with seeds 0..repeats-1, copies of a text in one fold), and those scores
enter the pipeline in the classifier's place, combined with the other
layers by the pipeline's own code (max, first flagging layer decides).
Figures are mean ± std over the repeats.

Latency: p50/p99 of single-message `moderate` calls (after warm-up) for the
default layers and each layer alone (the classifier with its shipped head),
and the throughput of `moderate_many` in batches against single calls.

Runs on its own: a throw-away SQLite database in a temporary DATA_DIR,
migrated here (the rules layer reads the rules table).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Published AUPRC on the full 1,680-text set (OpenAI's paper, Llama Guard's).
PUBLISHED = {"OpenAI moderation API": 0.856, "Llama Guard 7B": 0.847}


def setup_django(data_dir: str) -> None:
    os.environ["DATA_DIR"] = data_dir
    os.environ["DATABASE_URL"] = f"sqlite:///{data_dir}/bench.sqlite3"
    os.environ.setdefault("SECRET_KEY", "moderation-bench")
    os.environ["DJANGO_SETTINGS_MODULE"] = "chatsite.settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def figures(texts, labels, verdicts) -> dict:
    """Quality figures of verdicts against labels (texts without any known
    label are left out of the overall figures)."""
    import numpy as np

    from moderation.categories import OPENAI_LABELS
    from moderation.classifier.train import average_precision, f1_figures, overall_label

    def flagged_f1(truth, flagged):
        tp = int((flagged & (truth == 1)).sum())
        precision = tp / max(int(flagged.sum()), 1)
        recall = tp / max(int((truth == 1).sum()), 1)
        return 2 * precision * recall / max(precision + recall, 1e-12), precision, recall

    overall = [overall_label(label) for label in labels]
    known = np.array([value is not None for value in overall])
    truth = np.array([value or 0 for value in overall])[known]
    score = np.array([verdict.score for verdict in verdicts])[known]
    flagged = np.array([verdict.flagged for verdict in verdicts])[known]
    f1, precision, recall = flagged_f1(truth, flagged)
    out = {
        "auprc": average_precision(truth, score),
        "f1": f1,
        "precision": precision,
        "recall": recall,
        "best_f1": f1_figures(truth, score)["best_f1"],
        "categories": {},
    }
    for category in OPENAI_LABELS.values():
        values = np.array([-1 if label.get(category) is None else label[category] for label in labels])
        rows = values >= 0
        if (values[rows] == 1).sum() < 2:
            continue
        scores = np.array([verdict.category_scores[category] for verdict in verdicts])[rows]
        category_flagged = np.array([verdict.categories[category] for verdict in verdicts])[rows]
        out["categories"][category] = {
            "auprc": average_precision(values[rows], scores),
            "f1": flagged_f1(values[rows], category_flagged)[0],
            "positives": int((values[rows] == 1).sum()),
        }
    return out


def mean_std(runs: list[dict]) -> dict:
    """Mean and std of every number in a list of figures dicts."""
    first = runs[0]
    out = {}
    for key, value in first.items():
        if isinstance(value, dict):
            out[key] = mean_std([run[key] for run in runs])
        elif isinstance(value, float):
            values = [run[key] for run in runs]
            out[key] = {"mean": statistics.fmean(values), "std": statistics.pstdev(values)}
        else:
            out[key] = value
    return out


def run_pipeline(texts, layers, *, classifier=None, role="user", batch=256):
    """Verdicts from the pipeline with `layers`; `classifier`, if given,
    replaces the classifier layer (out-of-fold scores)."""
    from django.test.utils import override_settings

    from moderation import pipeline

    original = pipeline.LAYERS["classifier"]
    if classifier is not None:
        pipeline.LAYERS["classifier"] = classifier
    try:
        with override_settings(MODERATION_LAYERS=list(layers)):
            verdicts = []
            for start in range(0, len(texts), batch):
                verdicts.extend(pipeline.moderate_many(texts[start : start + batch], role))
            return verdicts
    finally:
        pipeline.LAYERS["classifier"] = original


def lookup_layer(texts, scores):
    """A layer that answers with precomputed scores for known texts."""
    table = {}
    for text, text_scores in zip(texts, scores, strict=False):
        table.setdefault(text, text_scores or {})

    def layer(batch, role, earlier=None):
        return [table[text] for text in batch]

    return layer


def max_without_early_exit(verdict_lists, role="user"):
    """Verdicts combining each text's category scores from several layers
    by max, every layer having scored every text (no early exit)."""
    from moderation.categories import CATEGORIES
    from moderation.pipeline import _verdict

    combined = []
    for verdicts in zip(*verdict_lists, strict=True):
        scores = {category: max(v.category_scores[category] for v in verdicts) for category in CATEGORIES}
        combined.append(_verdict(scores, "combined", role))
    return combined


def latency(texts, layers, *, warmup=None, role="user") -> dict:
    """Steady-state latency: every text is scored once before the timed
    pass (default), since torch's first pass at each new token length is
    several times slower, which made whichever configuration ran first look
    slow (p50 34 ms against 10 ms measured again after it)."""
    from django.test.utils import override_settings

    from moderation.pipeline import moderate

    with override_settings(MODERATION_LAYERS=list(layers)):
        for text in texts[: len(texts) if warmup is None else warmup]:
            moderate(text, role)
        times = []
        for text in texts:
            started = time.perf_counter()
            moderate(text, role)
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "p50_ms": times[len(times) // 2],
        "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))],
        "mean_ms": statistics.fmean(times),
        "messages": len(times),
    }


def throughput(texts, layers, *, batch=64, role="user") -> dict:
    from django.test.utils import override_settings

    from moderation.pipeline import moderate, moderate_many

    with override_settings(MODERATION_LAYERS=list(layers)):
        moderate_many(texts[:batch], role)  # warm-up
        started = time.perf_counter()
        for start in range(0, len(texts), batch):
            moderate_many(texts[start : start + batch], role)
        batched = len(texts) / (time.perf_counter() - started)
        started = time.perf_counter()
        for text in texts:
            moderate(text, role)
        single = len(texts) / (time.perf_counter() - started)
    return {"batch": batch, "batched_per_s": batched, "single_per_s": single, "ratio": batched / single}


def assistant_answers(path: Path) -> list[str]:
    """The last assistant turn of each HH-RLHF harmless `chosen`
    conversation: answers people preferred, read here as safe outputs."""
    import gzip
    import re

    answers = []
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            turns = re.split(r"\n\n(?:Human|Assistant): ", json.loads(line)["chosen"])
            if len(turns) >= 3 and turns[-1].strip():
                answers.append(turns[-1].strip())
    return answers


def output_flag_rates(answers: list[str]) -> dict:
    """Share of safe answers each output configuration flags (false
    positives), at the output thresholds; the classifier with the shipped head."""
    from django.test.utils import override_settings

    from moderation.pipeline import moderate_many

    rates = {}
    for name, layers in {
        "rules,profanity (default output layers)": ["rules", "profanity"],
        "rules,profanity,classifier": ["rules", "profanity", "classifier"],
        "classifier alone": ["classifier"],
    }.items():
        with override_settings(MODERATION_OUTPUT_LAYERS=layers):
            verdicts = [
                v
                for start in range(0, len(answers), 64)
                for v in moderate_many(answers[start : start + 64], "assistant")
            ]
        rates[name] = {
            "flagged": sum(v.flagged for v in verdicts),
            "rate": sum(v.flagged for v in verdicts) / len(verdicts),
        }
    return {"answers": len(answers), "layers": rates}


def stratified_subset(labels, count, seed=0):
    import random

    from moderation.classifier.train import overall_label

    rng = random.Random(seed)
    unsafe = [i for i, label in enumerate(labels) if overall_label(label) == 1]
    safe = [i for i, label in enumerate(labels) if overall_label(label) == 0]
    take_unsafe = round(count * len(unsafe) / (len(unsafe) + len(safe)))
    return sorted(rng.sample(unsafe, take_unsafe) + rng.sample(safe, count - take_unsafe))


def line(name, figs) -> str:
    def value(key):
        item = figs[key]
        return f"{item['mean']:.3f}±{item['std']:.3f}" if isinstance(item, dict) else f"{item:.3f}"

    return f"  {name:34s} AUPRC {value('auprc'):>13s}   F1 {value('f1'):>13s}   best F1 {value('best_f1'):>13s}"


def category_lines(figs) -> list[str]:
    out = []
    for category, item in figs["categories"].items():
        auprc = item["auprc"]["mean"] if isinstance(item["auprc"], dict) else item["auprc"]
        f1 = item["f1"]["mean"] if isinstance(item["f1"], dict) else item["f1"]
        out.append(f"      {category:22s} AUPRC {auprc:.3f}   F1 {f1:.3f}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "moderation_dev.jsonl"))
    parser.add_argument("--repeats", type=int, default=10, help="cross-validation repeats for the classifier")
    parser.add_argument("--guard", action="store_true", help="also measure the guard layer (slow)")
    parser.add_argument("--guard-model", default="", help="default: var/models/smollm2-135m-instruct")
    parser.add_argument("--guard-samples", type=int, default=100)
    parser.add_argument("--latency-samples", type=int, default=0, help="texts timed per configuration (0: all)")
    parser.add_argument(
        "--hh",
        default=str(ROOT.parent / "shared" / "data" / "preferences_hh_harmless_train.jsonl.gz"),
        help="HH-RLHF harmless pairs: their chosen answers test output false positives",
    )
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "moderation_eval.json"))
    args = parser.parse_args()

    setup_django(tempfile.mkdtemp(prefix="moderation-bench-"))
    from django.conf import settings

    from moderation import rules
    from moderation.classifier.heads import HeadParams
    from moderation.classifier.train import (
        BENIGN_LOOKALIKES,
        Dataset,
        cross_validate,
        read_openai_jsonl,
        with_train_only_texts,
    )

    texts, labels = read_openai_jsonl(args.data)
    default_layers = list(settings.MODERATION_LAYERS)
    report = {
        "data": {"file": str(args.data), "texts": len(texts)},
        "default_layers": default_layers,
        "thresholds": {"default": settings.MODERATION_THRESHOLD, **settings.MODERATION_THRESHOLDS},
        "published_auprc": PUBLISHED,
        "quality": {},
        "latency": {},
    }
    print(f"{len(texts)} texts from {args.data}; default layers {','.join(default_layers)}")

    # --- quality ---------------------------------------------------------
    quality = report["quality"]
    single = {layer: run_pipeline(texts, [layer]) for layer in ("rules", "profanity")}
    for layer, verdicts in single.items():
        quality[layer] = figures(texts, labels, verdicts)
    started = time.perf_counter()
    all_texts, all_labels, train_only = with_train_only_texts(texts, labels)
    rule_scores = [max(scores.values(), default=0.0) for scores in rules.score_many(all_texts, "user")]
    data = Dataset(all_texts, all_labels, rule_scores=rule_scores, train_only=train_only)
    cv = cross_validate(dataset=data, repeats=args.repeats)
    print(f"classifier: {args.repeats} x 5-fold cross-validation in {time.perf_counter() - started:.0f} s")
    # The recipes the shipped one was chosen from, on the same folds (seeds).
    without_lookalikes = copy.copy(data)
    without_lookalikes.known = data.known & ~data.train_only
    benign_only = copy.copy(data)
    short_unsafe_from = len(texts) + len(read_openai_jsonl(BENIGN_LOOKALIKES)[0])
    benign_only.known = data.known.copy()
    benign_only.known[short_unsafe_from:] = False
    recipes = {
        "SVM alone, dev set only (an earlier recipe)": (without_lookalikes, HeadParams(linear_weight=0.0)),
        "SVM + logistic regression, dev set only": (without_lookalikes, HeadParams()),
        "SVM + LR + benign lookalikes (the previous recipe)": (benign_only, HeadParams()),
    }
    report["recipes"] = {"SVM + LR + benign lookalikes + short unsafe (shipped)": cv["overall"]}
    for name, (dataset, params) in recipes.items():
        report["recipes"][name] = cross_validate(dataset=dataset, params=params, repeats=args.repeats)["overall"]
    print("Classifier recipes (out-of-fold overall AUPRC, classifier alone):")
    for name, overall in report["recipes"].items():
        print(f"  {name:56s} {overall['auprc']['mean']:.4f} ± {overall['auprc']['std']:.4f}")
    alone, combined, no_exit = [], [], []
    for oof in cv["oof"]:
        layer = lookup_layer(texts, oof)
        classifier_verdicts = run_pipeline(texts, ["classifier"], classifier=layer)
        alone.append(figures(texts, labels, classifier_verdicts))
        combined.append(figures(texts, labels, run_pipeline(texts, default_layers, classifier=layer)))
        no_exit.append(figures(texts, labels, max_without_early_exit([*single.values(), classifier_verdicts])))
    quality["classifier (out-of-fold)"] = mean_std(alone)
    quality["default pipeline (out-of-fold classifier)"] = mean_std(combined)
    # What the pipeline's early exit costs: every layer on every text.
    quality["diagnostic: max of the 3 layers, no early exit"] = mean_std(no_exit)

    if args.guard:
        candidates = (ROOT / "var/models/smollm2-135m-instruct", ROOT / "var/test/models/smollm2-135m-instruct")
        model = args.guard_model or next((str(path) for path in candidates if path.is_dir()), "")
        subset = stratified_subset(labels, args.guard_samples)
        guard_texts, guard_labels = [texts[i] for i in subset], [labels[i] for i in subset]
        from django.test.utils import override_settings

        with override_settings(MODERATION_GUARD_MODEL=model):
            started = time.perf_counter()
            verdicts = run_pipeline(guard_texts, ["guard"], batch=8)
            elapsed = time.perf_counter() - started
            guard = figures(guard_texts, guard_labels, verdicts)
            guard["model"], guard["texts"] = model, len(subset)
            guard["batched_per_s"] = len(subset) / elapsed
            # The same subset through the other layers, for comparison.
            oof_layer = lookup_layer(texts, cv["oof"][0])
            guard["same subset"] = {
                "classifier (out-of-fold, repeat 0)": figures(
                    guard_texts, guard_labels, run_pipeline(guard_texts, ["classifier"], classifier=oof_layer)
                )["auprc"],
                "profanity": figures(guard_texts, guard_labels, run_pipeline(guard_texts, ["profanity"]))["auprc"],
            }
            quality["guard"] = guard
            report["latency"]["guard"] = latency(guard_texts[:30], ["guard"], warmup=2)

    print("\nQuality (AUPRC of verdict.score; F1 at the configured thresholds)")
    for name, figs in quality.items():
        print(line(name, figs))
        print("\n".join(category_lines(figs)))
    if "guard" in quality:
        guard = quality["guard"]
        print(
            f"  guard: {guard['texts']} texts, model {guard['model']}; AUPRC on the same subset: {guard['same subset']}"
        )
    pipeline_auprc = quality["default pipeline (out-of-fold classifier)"]["auprc"]["mean"]
    classifier_auprc = quality["classifier (out-of-fold)"]["auprc"]["mean"]
    print("\nRatios of AUPRC")
    for name, value in PUBLISHED.items():
        print(
            f"  classifier alone / {name}: {classifier_auprc / value:.3f}   "
            f"default pipeline / {name}: {pipeline_auprc / value:.3f}"
        )
    print(f"  default pipeline / profanity alone: {pipeline_auprc / quality['profanity']['auprc']:.3f}")

    if Path(args.hh).is_file():
        report["outputs"] = output_flag_rates(assistant_answers(Path(args.hh)))
        print(f"\nSafe answers flagged at the output thresholds ({report['outputs']['answers']} HH chosen answers)")
        for name, item in report["outputs"]["layers"].items():
            print(f"  {name:40s} {item['flagged']:4d}  ({item['rate']:.1%})")

    # --- latency ---------------------------------------------------------
    timed = texts[: args.latency_samples] if args.latency_samples else texts
    configurations = [
        ("default", default_layers),
        *[(layer, [layer]) for layer in ("rules", "profanity", "classifier")],
    ]
    for name, layers in configurations:
        report["latency"][name] = latency(timed, layers)
    report["latency"]["moderate_many"] = throughput(timed, default_layers)
    print("\nLatency per message (single calls after warm-up)")
    for name, item in report["latency"].items():
        if "p50_ms" in item:
            print(f"  {name:12s} p50 {item['p50_ms']:7.2f} ms   p99 {item['p99_ms']:7.2f} ms")
    batched = report["latency"]["moderate_many"]
    print(
        f"  moderate_many, batches of {batched['batch']}: {batched['batched_per_s']:.0f} texts/s against "
        f"{batched['single_per_s']:.0f} texts/s one by one ({batched['ratio']:.2f}x)"
    )
    report["cross_validation"] = {key: value for key, value in cv.items() if key != "oof"}
    report["machine"] = {"cpus": os.cpu_count(), "load_average": os.getloadavg()}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
