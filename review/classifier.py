"""The classifier page's figures: each classifier version's cross-validated
figures next to those of the head that moderates now
(moderation.classifier.serving decides which)."""

from dataclasses import dataclass

from moderation.categories import CATEGORIES
from moderation.classifier.serving import ServingHead
from registry.models import ModelVersion

# What the classifier page compares, as paths into the recipe's
# cross-validation figures (moderation.classifier.train.cross_validate).
HEADLINE_FIGURES = [
    ("AUPRC", "overall.auprc.mean"),
    ("F1", "overall.f1.mean"),
    ("best F1", "overall.best_f1.mean"),
    ("precision", "overall.precision.mean"),
    ("recall", "overall.recall.mean"),
]
CATEGORY_FIGURES = [("AUPRC", "auprc.mean"), ("F1", "f1.mean")]

Comparison = list[tuple[str, float | None, float | None]]


def _figure(figures: dict, path: str) -> float | None:
    value = figures
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _compare(figures: dict, serving: dict) -> tuple[Comparison, Comparison]:
    """(headline, per category) rows of (figure, value, serving value)."""
    headline = [(name, _figure(figures, path), _figure(serving, path)) for name, path in HEADLINE_FIGURES]
    named = set(figures.get("categories", {})) | set(serving.get("categories", {}))
    detail = [
        (
            f"{category} {name}",
            _figure(figures, f"categories.{category}.{path}"),
            _figure(serving, f"categories.{category}.{path}"),
        )
        for category in CATEGORIES
        if category in named
        for name, path in CATEGORY_FIGURES
    ]
    return headline, detail


@dataclass(frozen=True)
class ClassifierVersionRow:
    version: ModelVersion
    is_serving: bool
    examples: int | None
    texts: int | None  # those cross-validated
    headline: Comparison  # (figure, this version's value, the serving head's value)
    detail: Comparison


def classifier_version_rows(*, versions: list[ModelVersion], serving: ServingHead) -> list[ClassifierVersionRow]:
    """Each classifier version's cross-validated figures next to those of
    the head that moderates now."""
    rows = []
    for version in versions:
        metadata = version.metadata or {}
        figures = metadata.get("figures") or {}
        headline, detail = _compare(figures, serving.figures)
        rows.append(
            ClassifierVersionRow(
                version=version,
                is_serving=serving.version is not None and version.pk == serving.version.pk,
                examples=metadata.get("examples"),
                texts=figures.get("texts"),
                headline=headline,
                detail=detail,
            )
        )
    return rows


def serving_head_figures(*, serving: ServingHead) -> tuple[Comparison, Comparison]:
    return _compare(serving.figures, serving.figures)
