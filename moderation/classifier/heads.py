"""The head model on window features (features.py):

1. A PCA projection of the embedding part to `pca_components` dimensions
   (the kernel head below stores its support vectors in that space, which
   keeps the shipped file small); the extra features pass through.
2. The "any unsafe" head, an average of two probabilities: an RBF-kernel
   SVM on the projection, Platt-calibrated on decision values from an inner
   cross-validation, and an L2 logistic regression on the full features
   (`linear_weight` of the average). The two err on different texts: on
   the same 3 x 5-fold CV splits of the dev set the average reached 0.852
   AUPRC (0.865 with the train-only short texts of moderation/data/) where
   the SVM alone reached 0.845, with half the spread across splits
   (bench/moderation_eval.py).
3. One logistic regression per category with enough labels gives q_c, the
   probability of that category.

A window's category scores are P(unsafe) * q_c / max(q): the most likely
category carries the overall score, so the pipeline's max over categories
is the calibrated P(unsafe), while the others keep their ratio to it.
Categories with too few labels to learn take a derived score (the minimum
of the listed categories', e.g. hate/threatening = min(hate, violence)) or
none (left to the rules layer); with no category head at all, P(unsafe)
goes to the category most often labelled unsafe. A text's scores are the
maximum over its windows.

Saved as `heads.safetensors` (arrays) and `metadata.json` (everything else):
no pickle, so loading a head runs no code.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..categories import CATEGORIES, HARASSMENT, HARASSMENT_THREATENING, HATE, HATE_THREATENING, VIOLENCE
from .features import FeatureSpec

FORMAT = "moderation-heads/1"
WEIGHTS_FILE = "heads.safetensors"
METADATA_FILE = "metadata.json"

# Categories that get min(...) of others when no head of their own was learnt.
DERIVED: dict[str, tuple[str, ...]] = {
    HATE_THREATENING: (HATE, VIOLENCE),
    HARASSMENT_THREATENING: (HARASSMENT, VIOLENCE),
}


@dataclass(frozen=True)
class HeadParams:
    pca_components: int = 64
    svm_c: float = 3.0
    svm_gamma: float = 1.0
    category_c: float = 10.0  # inverse L2 strength of the per-category logistic regressions
    min_positives: int = 8  # a category needs this many positive (and negative) labels for a head
    calibration_folds: int = 5
    linear_c: float = 1.0  # inverse L2 strength of the full-feature logistic regression
    linear_weight: float = 0.5  # its share of P(unsafe); 0: the SVM alone (heads saved before it existed)
    seed: int = 0

    @classmethod
    def from_dict(cls, data: dict) -> HeadParams:
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"Unknown head parameters: {sorted(unknown)}")
        return cls(**data)


def _expit(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


@dataclass
class Heads:
    spec: FeatureSpec
    params: HeadParams
    mean: np.ndarray  # (embedding dims,)
    components: np.ndarray  # (pca_components, embedding dims)
    support: np.ndarray  # (support vectors, projected dims)
    dual: np.ndarray  # (support vectors,)
    intercept: float
    platt: tuple[float, float]  # P(unsafe) = expit(a * decision + b)
    categories: tuple[str, ...]  # those with a head
    category_coef: np.ndarray  # (len(categories), projected dims)
    category_intercept: np.ndarray  # (len(categories),)
    linear_coef: np.ndarray  # (feature dims,) of the full-feature logistic regression; empty without one
    linear_intercept: float
    derived: dict[str, tuple[str, ...]] = field(default_factory=dict)
    fallback: str = HARASSMENT  # the category of the overall score when no category has a head
    metadata: dict = field(default_factory=dict)  # training data, CV figures, thresholds

    # --- fitting -----------------------------------------------------------

    @classmethod
    def fit(
        cls,
        features: np.ndarray,
        unsafe: np.ndarray,
        category_labels: dict[str, np.ndarray],
        *,
        spec: FeatureSpec,
        params: HeadParams = HeadParams(),
    ) -> Heads:
        """Fits on one feature row per text. `unsafe` holds 0/1; each
        `category_labels[c]` holds 1, 0 or -1 (unknown) per row."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold
        from sklearn.svm import SVC

        features = np.asarray(features, dtype=np.float64)
        unsafe = np.asarray(unsafe, dtype=np.int64)
        positives, negatives = int(unsafe.sum()), int((1 - unsafe).sum())
        if not positives or not negatives:
            raise ValueError("Training needs both unsafe and safe texts.")
        embedding = features[:, : features.shape[1] - len(spec.extras)]
        mean = embedding.mean(axis=0)
        k = min(params.pca_components, *embedding.shape)
        _, _, vt = np.linalg.svd(embedding - mean, full_matrices=False)
        components = vt[:k]
        projected = np.hstack([(embedding - mean) @ components.T, features[:, embedding.shape[1] :]])

        def svm():
            return SVC(C=params.svm_c, gamma=params.svm_gamma, kernel="rbf")

        # Platt scaling on out-of-fold decision values, as libsvm does; on
        # a handful of texts (a class of one), on the training fit's own.
        folds = min(params.calibration_folds, positives, negatives)
        if folds >= 2:
            decisions = np.zeros(len(unsafe))
            splitter = StratifiedKFold(folds, shuffle=True, random_state=params.seed)
            for train, test in splitter.split(projected, unsafe):
                decisions[test] = svm().fit(projected[train], unsafe[train]).decision_function(projected[test])
        else:
            decisions = svm().fit(projected, unsafe).decision_function(projected)
        platt = LogisticRegression(C=1e4).fit(decisions[:, None], unsafe)
        model = svm().fit(projected, unsafe)
        linear_coef, linear_intercept = np.zeros(0), 0.0
        if params.linear_weight > 0:
            linear = LogisticRegression(C=params.linear_c, max_iter=5000).fit(features, unsafe)
            linear_coef, linear_intercept = linear.coef_[0], float(linear.intercept_[0])

        names, coefs, intercepts = [], [], []
        for category in CATEGORIES:
            labels = category_labels.get(category)
            if labels is None:
                continue
            labels = np.asarray(labels)
            known = labels >= 0
            positives = int((labels[known] == 1).sum())
            if positives < params.min_positives or int(known.sum()) - positives < params.min_positives:
                continue
            head = LogisticRegression(C=params.category_c, max_iter=5000).fit(projected[known], labels[known])
            names.append(category)
            coefs.append(head.coef_[0])
            intercepts.append(head.intercept_[0])
        # With no category head (few labels), the overall score goes to the
        # category most often labelled unsafe, harassment if none is.
        counts = {c: int((np.asarray(v) == 1).sum()) for c, v in category_labels.items() if v is not None}
        fallback = max(CATEGORIES, key=lambda c: (counts.get(c, 0), c == HARASSMENT))
        derived = {
            category: parts
            for category, parts in DERIVED.items()
            if category not in names and all(part in names for part in parts)
        }
        width = projected.shape[1]
        return cls(
            spec=spec,
            params=params,
            mean=mean.astype(np.float32),
            components=components.astype(np.float32),
            support=model.support_vectors_.astype(np.float32),
            dual=model.dual_coef_[0].astype(np.float32),
            intercept=float(model.intercept_[0]),
            platt=(float(platt.coef_[0, 0]), float(platt.intercept_[0])),
            categories=tuple(names),
            category_coef=np.asarray(coefs, dtype=np.float32).reshape(len(names), width),
            category_intercept=np.asarray(intercepts, dtype=np.float32),
            linear_coef=linear_coef.astype(np.float32),
            linear_intercept=linear_intercept,
            derived=derived,
            fallback=fallback,
        )

    # --- scoring -----------------------------------------------------------

    def project(self, features: np.ndarray) -> np.ndarray:
        split = features.shape[1] - len(self.spec.extras)
        return np.hstack([(features[:, :split] - self.mean) @ self.components.T, features[:, split:]])

    def unsafe_probability(self, features: np.ndarray) -> np.ndarray:
        """P(unsafe) of each feature row."""
        projected = self.project(np.asarray(features, dtype=np.float32))
        distances = (
            (projected**2).sum(1)[:, None] + (self.support**2).sum(1)[None, :] - 2.0 * projected @ self.support.T
        )
        decision = np.exp(-self.params.svm_gamma * np.maximum(distances, 0.0)) @ self.dual + self.intercept
        a, b = self.platt
        kernel = _expit(a * decision + b)
        weight = self.params.linear_weight if len(self.linear_coef) else 0.0
        if not weight:
            return kernel
        linear = _expit(np.asarray(features, dtype=np.float32) @ self.linear_coef + self.linear_intercept)
        return (1.0 - weight) * kernel + weight * linear

    def window_scores(self, features: np.ndarray) -> np.ndarray:
        """(rows, len(CATEGORIES)) category scores of each feature row."""
        features = np.asarray(features, dtype=np.float32)
        unsafe = self.unsafe_probability(features)
        scores = np.zeros((len(features), len(CATEGORIES)), dtype=np.float64)
        column = {category: i for i, category in enumerate(CATEGORIES)}
        if self.categories:
            q = _expit(self.project(features) @ self.category_coef.T + self.category_intercept)
            share = q / np.maximum(q.max(axis=1, keepdims=True), 1e-12)
            for j, category in enumerate(self.categories):
                scores[:, column[category]] = unsafe * share[:, j]
            for category, parts in self.derived.items():
                scores[:, column[category]] = np.min([scores[:, column[part]] for part in parts], axis=0)
        else:
            scores[:, column[self.fallback]] = unsafe
        return scores

    def score(self, features: np.ndarray, owner: Sequence[int], count: int) -> list[dict[str, float]]:
        """Per-text {category: score} for `count` texts, every category
        present: the maximum over each text's windows."""
        per_window = self.window_scores(features)
        per_text = np.zeros((count, len(CATEGORIES)))
        np.maximum.at(per_text, np.asarray(owner, dtype=np.int64), per_window)
        return [dict(zip(CATEGORIES, map(float, row), strict=True)) for row in per_text]

    # --- storage -----------------------------------------------------------

    def save(self, directory: Path | str) -> Path:
        from safetensors.numpy import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {
            "mean": self.mean,
            "components": self.components,
            "support": self.support,
            "dual": self.dual,
            "category_coef": self.category_coef,
            "category_intercept": self.category_intercept,
            "linear_coef": self.linear_coef,
        }
        weights = directory / WEIGHTS_FILE
        save_file({name: np.ascontiguousarray(array, dtype=np.float32) for name, array in arrays.items()}, weights)
        weights.chmod(0o644)  # safetensors writes 0600; workers of another user read it too
        meta = {
            "format": FORMAT,
            "feature_spec": self.spec.as_dict(),
            "params": asdict(self.params),
            "intercept": self.intercept,
            "platt": list(self.platt),
            "linear_intercept": self.linear_intercept,
            "categories": list(self.categories),
            "derived": {category: list(parts) for category, parts in self.derived.items()},
            "fallback": self.fallback,
            **self.metadata,
        }
        (directory / METADATA_FILE).write_text(json.dumps(meta, indent=2, sort_keys=False) + "\n")
        return directory

    @classmethod
    def load(cls, directory: Path | str) -> Heads:
        from safetensors.numpy import load_file

        directory = Path(directory)
        meta = json.loads((directory / METADATA_FILE).read_text())
        if meta.get("format") != FORMAT:
            raise ValueError(f"{directory} is not a {FORMAT} head (format {meta.get('format')!r}).")
        arrays = load_file(directory / WEIGHTS_FILE)
        known = {
            "format",
            "feature_spec",
            "params",
            "intercept",
            "platt",
            "linear_intercept",
            "categories",
            "derived",
            "fallback",
        }
        unknown_categories = (set(meta["categories"]) | set(meta["derived"]) | {meta["fallback"]}) - set(CATEGORIES)
        if unknown_categories:
            raise ValueError(f"{directory} has heads for unknown categories {sorted(unknown_categories)}.")
        return cls(
            spec=FeatureSpec.from_dict(meta["feature_spec"]),
            params=HeadParams.from_dict(meta["params"]),
            mean=arrays["mean"],
            components=arrays["components"],
            support=arrays["support"],
            dual=arrays["dual"],
            intercept=float(meta["intercept"]),
            platt=tuple(meta["platt"]),
            categories=tuple(meta["categories"]),
            category_coef=arrays["category_coef"],
            category_intercept=arrays["category_intercept"],
            # A head saved before the linear part existed scores as it did then.
            linear_coef=arrays.get("linear_coef", np.zeros(0, dtype=np.float32)),
            linear_intercept=float(meta.get("linear_intercept", 0.0)),
            derived={category: tuple(parts) for category, parts in meta["derived"].items()},
            fallback=meta["fallback"],
            metadata={key: value for key, value in meta.items() if key not in known},
        )
