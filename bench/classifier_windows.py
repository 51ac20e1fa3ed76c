"""The classifier reading every token window of a message, full-size (128
tokens) and fine (32), the worst window deciding, against reading only the
first full-size window, as it did until issue 15, and against full-size
windows alone:

(a) the attack: of the unsafe dev texts that the default pipeline flags on
    their own, how many it still flags behind one benign paragraph;
(b) quality on the plain texts: AUPRC and F1 at the configured thresholds,
    of the classifier alone and of the default pipeline;
(c) latency per message of the default pipeline, short and long messages.

(a) and (b) are out-of-fold, like bench/moderation_eval.py: heads trained
on four folds score the fifth (5-fold, seeds 0..repeats-1), plain and
padded, in both modes; the heads are the same in both (they train on first
windows), only the scoring differs. (a) is also given for the shipped head,
which was trained on these very texts (in-sample). (c) uses the shipped
head, timing the two modes text by text in turn.

    .venv/bin/python bench/classifier_windows.py [--data ../shared/data/moderation_dev.jsonl]
        [--repeats 3] [--out bench/results/classifier_windows.json]
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import functools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.moderation_eval import figures, lookup_layer, mean_std, run_pipeline, setup_django  # noqa: E402

# About 150 tokens of harmless prose, more than the 128-token first window.
BENIGN_PARAGRAPH = (
    "Our community garden has had a wonderful season. The tomatoes ripened early thanks to the warm spring, "
    "and the volunteers built new raised beds along the fence for herbs and salad greens. On Saturday mornings "
    "families come to water the plants, children learn how compost turns kitchen scraps into rich soil, and "
    "neighbours trade seeds and recipes for soups and jams. The local library lent us books about bees, so this "
    "year we planted lavender, borage and sunflowers to welcome pollinators. Next month we will hold a harvest "
    "picnic with music, a pie contest and a workshop on saving seeds for the winter. Everyone is welcome to join, "
    "whether you have grown vegetables for decades or have never held a trowel."
)
# "first": each text's first window with whole-text extras (before);
# "full": every full-size window (what ships); "fine": every full-size and
# fine window (a head's opt-in, fine_tokens=FINE_TOKENS).
MODES = ("first", "full", "fine")
FINE_TOKENS = 32
LONG_CHARS = 16_000  # settings.CHAT_MAX_MESSAGE_CHARS' default
MEDIUM_CHARS = 2_000


def views(data, full_counts):
    """Each mode's view of a Dataset built with fine windows: which
    windows it scores. `full_counts[i]`: text i's full-size windows, which
    come before its fine ones."""
    import numpy as np

    first = copy.copy(data)
    first.windows, first.owner = data.first, np.arange(len(data.texts))
    full = copy.copy(data)
    position = np.zeros(len(data.owner), dtype=np.int64)
    for i in range(1, len(data.owner)):
        position[i] = position[i - 1] + 1 if data.owner[i] == data.owner[i - 1] else 0
    keep = position < np.asarray(full_counts)[data.owner]
    full.windows, full.owner = data.windows[keep], data.owner[keep]
    return {"first": first, "full": full, "fine": data}


def full_window_counts(texts, spec) -> list[int]:
    import numpy as np

    from moderation.classifier.embedder import get_embedder

    _, owner = get_embedder().windows(texts, spec.max_tokens, spec.stride)
    return list(np.bincount(owner, minlength=len(texts)))


def out_of_fold(data, attacked, attacked_of, repeats: int):
    """Per repeat and mode: {category: score} for every scored dev text
    (None elsewhere), and for every padded text."""
    import numpy as np
    from sklearn.model_selection import StratifiedGroupKFold

    from moderation.categories import CATEGORIES

    plain_views = views(data, full_window_counts(data.texts, data.spec))
    padded_views = views(attacked, full_window_counts(attacked.texts, attacked.spec))
    rows = np.flatnonzero(data.known & ~data.train_only)
    always = np.flatnonzero(data.known & data.train_only)
    group_of: dict[str, int] = {}
    groups = [group_of.setdefault(" ".join(data.texts[row].lower().split()), len(group_of)) for row in rows]
    runs = []
    for repeat in range(repeats):
        plain = {mode: np.zeros((len(data.texts), len(CATEGORIES))) for mode in MODES}
        padded = {mode: np.zeros((len(attacked.texts), len(CATEGORIES))) for mode in MODES}
        splitter = StratifiedGroupKFold(5, shuffle=True, random_state=repeat)
        for train, test in splitter.split(rows, data.unsafe[rows], groups):
            heads = data.fit(np.concatenate([rows[train], always]))
            held_out = np.array([attacked_of[row] for row in rows[test] if row in attacked_of], dtype=np.int64)
            for mode in MODES:
                plain[mode][rows[test]] = plain_views[mode].score(heads, rows[test])
                if len(held_out):
                    padded[mode][held_out] = padded_views[mode].score(heads, held_out)
        scored = data.known & ~data.train_only
        runs.append(
            {
                mode: (
                    [
                        dict(zip(CATEGORIES, map(float, s), strict=True)) if scored[i] else None
                        for i, s in enumerate(plain[mode])
                    ],
                    [dict(zip(CATEGORIES, map(float, s), strict=True)) for s in padded[mode]],
                )
                for mode in MODES
            }
        )
    return runs


def attack_counts(texts, padded_texts, unsafe_rows, plain_scores, padded_scores, layers) -> dict:
    """How many unsafe texts the pipeline flags alone, and of those, padded."""
    unsafe_texts = [texts[row] for row in unsafe_rows]
    alone = run_pipeline(unsafe_texts, layers, classifier=lookup_layer(texts, plain_scores))
    padded = run_pipeline(padded_texts, layers, classifier=lookup_layer(padded_texts, padded_scores))
    flagged_alone = [i for i, verdict in enumerate(alone) if verdict.flagged]
    still = [i for i in flagged_alone if padded[i].flagged]
    by_classifier = [i for i in still if padded[i].layer == "classifier"]
    return {
        "unsafe": len(unsafe_texts),
        "flagged_alone": len(flagged_alone),
        "still_flagged_padded": len(still),
        "still_flagged_padded_by_the_classifier": len(by_classifier),
    }


def long_messages(texts, chars: int, count: int) -> list[str]:
    """`count` messages of about `chars` characters, dev texts back to back."""
    out, pool, start = [], [t for t in texts if len(t) > 200], 0
    for _ in range(count):
        parts, size = [], 0
        while size < chars:
            parts.append(pool[start % len(pool)])
            size += len(parts[-1]) + 2
            start += 1
        out.append("\n\n".join(parts)[:chars])
    return out


def latency(groups: dict[str, list[str]], layers) -> dict:
    """Wall time per `moderate` call in each mode, the modes alternating
    text by text so load from other jobs falls on both alike."""
    from django.test.utils import override_settings

    from moderation.classifier import features, layer
    from moderation.pipeline import moderate

    def with_fine(spec, *args, **kwargs):
        return features.window_features(dataclasses.replace(spec, fine_tokens=FINE_TOKENS), *args, **kwargs)

    modes = {
        "first": functools.partial(features.window_features, first_only=True),
        "full": features.window_features,
        "fine": with_fine,
    }
    out = {}
    with override_settings(MODERATION_LAYERS=list(layers)):
        for name, texts in groups.items():
            times = {mode: [] for mode in modes}
            for text in texts:
                for mode, window_features in modes.items():
                    layer.window_features = window_features
                    moderate(text, "user")  # warm: torch's first pass at a new length is slower
                    started = time.perf_counter()
                    moderate(text, "user")
                    times[mode].append((time.perf_counter() - started) * 1000)
            out[name] = {
                "messages": len(texts),
                "chars_p50": statistics.median(len(text) for text in texts),
                **{f"{mode}_p50_ms": round(statistics.median(values), 2) for mode, values in times.items()},
                **{
                    f"ratio_{mode}_over_first": round(
                        statistics.median(times[mode]) / statistics.median(times["first"]), 2
                    )
                    for mode in ("full", "fine")
                },
            }
    layer.window_features = features.window_features
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "moderation_dev.jsonl"))
    parser.add_argument("--repeats", type=int, default=3, help="cross-validation repeats")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "classifier_windows.json"))
    args = parser.parse_args()

    setup_django(tempfile.mkdtemp(prefix="classifier-windows-"))
    from django.conf import settings

    from moderation import rules
    from moderation.categories import CATEGORIES
    from moderation.classifier.features import FeatureSpec
    from moderation.classifier.heads import Heads
    from moderation.classifier.serving import SHIPPED_HEAD
    from moderation.classifier.train import Dataset, read_openai_jsonl, with_train_only_texts
    from moderation.pipeline import moderate

    layers = list(settings.MODERATION_LAYERS)
    texts, labels = read_openai_jsonl(args.data)
    all_texts, all_labels, train_only = with_train_only_texts(texts, labels)

    def rule_scores(batch):
        return [max(scores.values(), default=0.0) for scores in rules.score_many(batch, "user")]

    started = time.perf_counter()
    spec = dataclasses.replace(FeatureSpec(), fine_tokens=FINE_TOKENS)  # views() takes the other modes from it
    data = Dataset(all_texts, all_labels, rule_scores=rule_scores(all_texts), spec=spec, train_only=train_only)
    unsafe_rows = [row for row in range(len(texts)) if data.known[row] and data.unsafe[row]]
    padded_texts = [f"{BENIGN_PARAGRAPH}\n\n{texts[row]}" for row in unsafe_rows]
    attacked = Dataset(
        padded_texts, [labels[row] for row in unsafe_rows], rule_scores=rule_scores(padded_texts), spec=spec
    )
    attacked_of = {row: i for i, row in enumerate(unsafe_rows)}
    print(f"features of {len(all_texts)} + {len(padded_texts)} padded texts in {time.perf_counter() - started:.0f} s")
    report = {
        "data": {"file": args.data, "texts": len(texts), "unsafe": len(unsafe_rows)},
        "default_layers": layers,
        "benign_paragraph": BENIGN_PARAGRAPH,
        "benign_paragraph_alone_flagged": moderate(BENIGN_PARAGRAPH, "user").flagged,
        "spec": data.spec.as_dict(),
    }

    # (a) and (b), out-of-fold.
    started = time.perf_counter()
    runs = out_of_fold(data, attacked, attacked_of, args.repeats)
    attack = {mode: [] for mode in MODES}
    quality = {mode: {"classifier": [], "pipeline": []} for mode in MODES}
    for run in runs:
        for mode, (plain_scores, padded_scores) in run.items():
            attack[mode].append(attack_counts(texts, padded_texts, unsafe_rows, plain_scores, padded_scores, layers))
            classifier = lookup_layer(texts, plain_scores)
            quality[mode]["classifier"].append(
                figures(texts, labels, run_pipeline(texts, ["classifier"], classifier=classifier))
            )
            quality[mode]["pipeline"].append(figures(texts, labels, run_pipeline(texts, layers, classifier=classifier)))
    print(f"{args.repeats} x 5-fold cross-validation in {time.perf_counter() - started:.0f} s")
    report["attack_out_of_fold"] = {
        mode: {key: statistics.fmean(run[key] for run in counts) for key in counts[0]}
        for mode, counts in attack.items()
    }
    report["quality_out_of_fold"] = {
        mode: {
            name: {key: value for key, value in mean_std(values).items() if key != "categories"}
            for name, values in items.items()
        }
        for mode, items in quality.items()
    }

    # (a) with the shipped head (in-sample).
    shipped = Heads.load(SHIPPED_HEAD)
    dev_rows = list(range(len(texts)))
    report["attack_shipped_head_in_sample"] = {}
    plain_views = views(data, full_window_counts(data.texts, data.spec))
    padded_views = views(attacked, full_window_counts(attacked.texts, attacked.spec))
    for mode in MODES:
        plain_view, padded_view = plain_views[mode], padded_views[mode]
        plain_scores = [dict(zip(CATEGORIES, map(float, s), strict=True)) for s in plain_view.score(shipped, dev_rows)]
        padded_scores = [
            dict(zip(CATEGORIES, map(float, s), strict=True))
            for s in padded_view.score(shipped, list(range(len(padded_texts))))
        ]
        report["attack_shipped_head_in_sample"][mode] = attack_counts(
            texts, padded_texts, unsafe_rows, plain_scores, padded_scores, layers
        )

    # (c) latency, shipped head.
    short = [text for text in texts if len(text) < 300][:40]
    report["latency"] = latency(
        {
            "short (< 300 chars)": short,
            f"medium ({MEDIUM_CHARS} chars)": long_messages(texts, MEDIUM_CHARS, 12),
            f"long ({LONG_CHARS} chars)": long_messages(texts, LONG_CHARS, 6),
        },
        layers,
    )
    report["machine"] = {"cpus": os.cpu_count(), "load_average": os.getloadavg()}

    for name, item in [
        ("out-of-fold", report["attack_out_of_fold"]),
        ("shipped head, in-sample", report["attack_shipped_head_in_sample"]),
    ]:
        print(
            f"attack ({name}): "
            + "; ".join(
                f"{mode}: {counts['still_flagged_padded']:.1f} of {counts['flagged_alone']:.1f} still flagged"
                for mode, counts in item.items()
            )
        )
    for mode, items in report["quality_out_of_fold"].items():
        print(
            f"quality, {mode} windows: "
            + "; ".join(
                f"{name} AUPRC {figs['auprc']['mean']:.4f} ± {figs['auprc']['std']:.4f}, F1 {figs['f1']['mean']:.4f}"
                for name, figs in items.items()
            )
        )
    for name, item in report["latency"].items():
        print(
            f"latency {name}: first {item['first_p50_ms']} ms, full {item['full_p50_ms']} ms "
            f"(x{item['ratio_full_over_first']}), fine {item['fine_p50_ms']} ms (x{item['ratio_fine_over_first']})"
        )
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
