"""Training recipe for the classifier heads, and its cross-validation.

One example row of the OpenAI moderation evaluation format that the CLI
reads (1 unsafe, 0 safe, a missing key unknown; a text is unsafe when any
key is 1):

    {"prompt": "I'm going to find you and ...", "S": 0, "H": 0, "V": 1, "HR": 1, "SH": 0}

In Python, labels use our category names, `None` for unknown:

    heads = train_heads(texts, [{"violence": 1, "harassment": 1, "sexual": None}, ...])
    figures = cross_validate(texts, labels)
    heads.save("var/models/classifier-7")

    python -m moderation.classifier.train --data ../shared/data/moderation_dev.jsonl --out DIR

Every training set also gets `BENIGN_LOOKALIKES` (moderation/data/): short
everyday texts that use harm words harmlessly ("cut myself a piece of
bread", "kill a process", "I'm dying to see it"). The dev set has only 13
texts under ten words, so without them the heads have never seen a short
safe message and flag ones like "I was about to cut myself a slice of
cake". They are training-only: cross-validation adds them to every
training fold and never scores them, so the figures stay those of the
labelled texts.

Safe short texts alone taught the heads that short means safe ("I keep
cutting myself to feel something" scored 0.47), so every training set also
gets `SHORT_UNSAFE`: short chat messages of each harmful category, written
for this purpose and training-only in the same way. `TRAIN_ONLY_FILES` are
both.

Plain Python, no Django setup: the `rules` feature needs the rules layer's
top score per text; pass `rule_scores` (the Celery job passes the live
rules'), or let `builtin_rule_scores` compute it from the built-in rules.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..categories import (
    CATEGORIES,
    OPENAI_LABELS,
)
from .features import FeatureSpec, extra_features, window_features
from .heads import HeadParams, Heads

Labels = dict[str, "int | None"]

TRAIN_ONLY_DIR = Path(__file__).resolve().parent.parent / "data"
BENIGN_LOOKALIKES = TRAIN_ONLY_DIR / "benign_lookalikes.jsonl"
SHORT_UNSAFE = TRAIN_ONLY_DIR / "short_unsafe.jsonl"
TRAIN_ONLY_FILES = (BENIGN_LOOKALIKES, SHORT_UNSAFE)


def read_openai_jsonl(path: Path | str) -> tuple[list[str], list[Labels]]:
    texts, labels = [], []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                row = json.loads(line)
                texts.append(row["prompt"])
                labels.append({category: row.get(key) for key, category in OPENAI_LABELS.items()})
    return texts, labels


def with_train_only_texts(texts: Sequence[str], labels: Sequence[Labels]) -> tuple[list[str], list[Labels], list[bool]]:
    """`texts` and `labels` followed by the TRAIN_ONLY_FILES' texts, and
    which of them are train-only, for `Dataset(train_only=...)`."""
    extra_texts, extra_labels = [], []
    for path in TRAIN_ONLY_FILES:
        path_texts, path_labels = read_openai_jsonl(path)
        extra_texts += path_texts
        extra_labels += path_labels
    return (
        [*texts, *extra_texts],
        [*labels, *extra_labels],
        [False] * len(texts) + [True] * len(extra_texts),
    )


def overall_label(labels: Labels) -> int | None:
    """1 when any category is 1; 0 when none is and at least one is known
    to be 0; None when nothing is known."""
    values = [value for value in labels.values() if value is not None]
    if any(value == 1 for value in values):
        return 1
    return 0 if values else None


def builtin_rule_scores(texts: Sequence[str], role: str = "user") -> list[float]:
    """The rules layer's top score per text with the built-in rules only
    (no database, so no Django setup)."""
    from .. import rules
    from ..rule_syntax import BOTH, INPUT, OUTPUT

    direction = {"user": INPUT, "assistant": OUTPUT}[role]
    compiled = tuple(rule for rule in rules.builtin_rules() if rule.applies_to in (direction, BOTH))
    return [max(rules.score_text(text, compiled).values(), default=0.0) for text in texts]


class Dataset:
    """Texts, labels and their features, computed once (embedding is the
    slow part) and sliced for cross-validation folds."""

    def __init__(self, texts, labels, *, rule_scores=None, spec=FeatureSpec(), embedder=None, train_only=None):
        """`train_only[i]` marks a text that cross-validation always trains
        on and never scores (TRAIN_ONLY_FILES)."""
        if len(texts) != len(labels):
            raise ValueError("texts and labels differ in length")
        self.texts, self.labels, self.spec = list(texts), list(labels), spec
        self.train_only = np.zeros(len(self.texts), dtype=bool) if train_only is None else np.asarray(train_only, bool)
        if "rules" in spec.extras and rule_scores is None:
            rule_scores = builtin_rule_scores(self.texts)
        self.windows, self.owner = window_features(spec, self.texts, rule_scores, embedder=embedder)
        # Each text's first window: what heads are trained on, with the
        # whole text's extras, as they were before windows scored their own.
        first = np.ones(len(self.owner), dtype=bool)
        first[1:] = self.owner[1:] != self.owner[:-1]
        self.first = self.windows[first].copy()
        if spec.extras:
            self.first[:, -len(spec.extras) :] = extra_features(spec, self.texts, rule_scores)
        overall = [overall_label(label) for label in self.labels]
        self.known = np.array([value is not None for value in overall])
        self.unsafe = np.array([value or 0 for value in overall])
        self.category = {
            category: np.array([-1 if label.get(category) is None else int(label[category]) for label in self.labels])
            for category in CATEGORIES
        }

    def fit(self, rows: np.ndarray, params: HeadParams = HeadParams()) -> Heads:
        rows = rows[self.known[rows]]
        return Heads.fit(
            self.first[rows],
            self.unsafe[rows],
            {category: values[rows] for category, values in self.category.items()},
            spec=self.spec,
            params=params,
        )

    def score(self, heads: Heads, rows: np.ndarray) -> np.ndarray:
        """(len(rows), len(CATEGORIES)) scores, max over each text's windows."""
        position = {row: i for i, row in enumerate(rows)}
        mask = np.isin(self.owner, rows)
        per_window = heads.window_scores(self.windows[mask])
        out = np.zeros((len(rows), len(CATEGORIES)))
        np.maximum.at(out, np.array([position[o] for o in self.owner[mask]], dtype=np.int64), per_window)
        return out


def train_heads(
    texts: Sequence[str],
    labels: Sequence[Labels],
    *,
    rule_scores: Sequence[float] | None = None,
    params: HeadParams = HeadParams(),
    spec: FeatureSpec = FeatureSpec(),
    dataset: Dataset | None = None,
) -> Heads:
    """Heads trained on every text whose overall label is known. `labels`
    map our category names (moderation.categories) to 1, 0 or None."""
    data = dataset or Dataset(texts, labels, rule_scores=rule_scores, spec=spec)
    heads = data.fit(np.arange(len(data.texts)), params)
    heads.metadata["training_data"] = {
        "texts": int(data.known.sum()),
        "unsafe": int(data.unsafe[data.known].sum()),
        "category_positives": {c: int((v == 1).sum()) for c, v in data.category.items() if (v == 1).any()},
    }
    return heads


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(labels, scores))


def f1_figures(labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> dict:
    from sklearn.metrics import precision_recall_curve

    flagged = scores >= threshold
    tp = int((flagged & (labels == 1)).sum())
    precision = tp / max(int(flagged.sum()), 1)
    recall = tp / max(int((labels == 1).sum()), 1)
    p, r, t = precision_recall_curve(labels, scores)
    f1 = 2 * p * r / np.maximum(p + r, 1e-12)
    best = int(np.argmax(f1[:-1])) if len(t) else 0
    return {
        "f1": 2 * precision * recall / max(precision + recall, 1e-12),
        "precision": precision,
        "recall": recall,
        "best_f1": float(f1[best]),
        "best_threshold": float(t[best]) if len(t) else threshold,
    }


def _mean_std(values: list[float]) -> dict:
    return {"mean": float(np.mean(values)), "std": float(np.std(values))}


def cross_validate(
    texts: Sequence[str] = (),
    labels: Sequence[Labels] = (),
    *,
    rule_scores: Sequence[float] | None = None,
    params: HeadParams = HeadParams(),
    spec: FeatureSpec = FeatureSpec(),
    folds: int = 5,
    repeats: int = 3,
    seed: int = 0,
    threshold: float = 0.5,
    dataset: Dataset | None = None,
) -> dict:
    """Stratified k-fold cross-validation, repeated with seeds seed..seed+
    repeats-1: heads trained on k-1 folds score the held-out fold (copies of
    a text share a fold). Returns
    the overall AUPRC and F1 figures (mean and std over repeats), per-
    category AUPRC/F1 where labels allow, and the out-of-fold scores
    (`oof[repeat][text] = {category: score}`; None for unlabelled texts)."""
    from sklearn.model_selection import StratifiedGroupKFold

    data = dataset or Dataset(texts, labels, rule_scores=rule_scores, spec=spec)
    rows = np.flatnonzero(data.known & ~data.train_only)
    always = np.flatnonzero(data.known & data.train_only)
    unsafe = data.unsafe[rows]
    # The same text twice stays in one fold: a copy in the training folds
    # would be remembered, not generalised from.
    group_of: dict[str, int] = {}
    groups = [group_of.setdefault(" ".join(data.texts[row].lower().split()), len(group_of)) for row in rows]
    runs, oof = [], []
    for repeat in range(repeats):
        scores = np.zeros((len(data.texts), len(CATEGORIES)))
        splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=seed + repeat)
        for train, test in splitter.split(rows, unsafe, groups):
            heads = data.fit(np.concatenate([rows[train], always]), params)
            scores[rows[test]] = data.score(heads, rows[test])
        overall = scores[rows].max(axis=1)
        run = {"auprc": average_precision(unsafe, overall), **f1_figures(unsafe, overall, threshold), "categories": {}}
        scored = data.known & ~data.train_only
        for j, category in enumerate(CATEGORIES):
            values = data.category[category]
            known = (values >= 0) & scored
            if (values[known] == 1).sum() >= 2:
                run["categories"][category] = {
                    "auprc": average_precision(values[known], scores[known, j]),
                    **f1_figures(values[known], scores[known, j], threshold),
                }
        runs.append(run)
        oof.append(
            [dict(zip(CATEGORIES, map(float, s), strict=True)) if scored[i] else None for i, s in enumerate(scores)]
        )
    figures = {key: _mean_std([run[key] for run in runs]) for key in ("auprc", "f1", "precision", "recall", "best_f1")}
    categories = {
        category: {
            key: _mean_std([run["categories"][category][key] for run in runs]) for key in ("auprc", "f1", "best_f1")
        }
        for category in runs[0]["categories"]
    }
    return {
        "folds": folds,
        "repeats": repeats,
        "seeds": list(range(seed, seed + repeats)),
        "threshold": threshold,
        "texts": int(len(rows)),
        "unsafe": int(unsafe.sum()),
        "overall": figures,
        "categories": categories,
        "params": asdict(params),
        "oof": oof,
    }


def format_figures(figures: dict) -> str:
    o = figures["overall"]
    lines = [
        f"{figures['folds']}-fold CV x {figures['repeats']} repeats on {figures['texts']} texts "
        f"({figures['unsafe']} unsafe)",
        f"  overall  AUPRC {o['auprc']['mean']:.4f} ± {o['auprc']['std']:.4f}   "
        f"F1@{figures['threshold']} {o['f1']['mean']:.4f} ± {o['f1']['std']:.4f}   best F1 {o['best_f1']['mean']:.4f}",
    ]
    for category, c in figures["categories"].items():
        lines.append(
            f"  {category:24s} AUPRC {c['auprc']['mean']:.4f} ± {c['auprc']['std']:.4f}   "
            f"F1@{figures['threshold']} {c['f1']['mean']:.4f}   best F1 {c['best_f1']['mean']:.4f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="JSONL in the OpenAI moderation evaluation format")
    parser.add_argument("--out", required=True, help="directory to write heads.safetensors and metadata.json")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=10, help="cross-validation repeats (0 skips it)")
    parser.add_argument("--params", default="{}", help="JSON head parameters, e.g. '{\"svm_c\": 1.0}'")
    parser.add_argument("--description", default="", help="what the training data is, kept in the metadata")
    args = parser.parse_args(argv)

    params = HeadParams.from_dict(json.loads(args.params))
    texts, labels, train_only = with_train_only_texts(*read_openai_jsonl(args.data))
    started = time.perf_counter()
    data = Dataset(texts, labels, train_only=train_only)
    print(f"features of {len(texts)} texts in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    heads = train_heads(texts, labels, params=params, dataset=data)
    if args.repeats:
        figures = cross_validate(params=params, folds=args.folds, repeats=args.repeats, dataset=data)
        print(format_figures(figures))
        figures.pop("oof")
        heads.metadata["cross_validation"] = figures
        best = figures["overall"]
        heads.metadata["thresholds"] = {
            "note": "The pipeline flags at settings.MODERATION_THRESHOLD(S); these are out-of-fold figures.",
            "f1_at_threshold": best["f1"]["mean"],
            "best_f1": best["best_f1"]["mean"],
        }
    heads.metadata["training_data"]["source"] = Path(args.data).name
    heads.metadata["training_data"]["train_only"] = [f"moderation/data/{path.name}" for path in TRAIN_ONLY_FILES]
    if args.description:
        heads.metadata["training_data"]["description"] = args.description
    heads.save(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
