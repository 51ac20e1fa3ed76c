"""Reads for the moderation app: template responses, the review queue, the
labelled data that moderators' decisions make, the dashboard's figures and
the classifier's versions."""
import json
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from chat.models import Message
from registry.models import ModelVersion

from .categories import (
    CATEGORIES,
    OPENAI_LABELS,
)
from .default_responses import DEFAULT_RESPONSES, GENERIC
from .models import ClassifierTraining, ReviewDecision, ReviewItem, TemplateResponse

logger = logging.getLogger(__name__)

Labels = dict[str, int | None]


def template_response_for(*, category: str | None, language: str = "en") -> str:
    """The admin's text for the category, in the language ("fr-ca"), its
    base language ("fr") or English, whichever exists first; else the
    built-in (English) text for the category; else the generic one. No
    category (a verdict that was not flagged) gets the generic text."""
    if category is not None:
        languages = list(dict.fromkeys([language, language.split("-")[0], "en"]))
        texts = dict(
            TemplateResponse.objects.filter(category=category, language__in=languages).values_list("language", "text")
        )
        for candidate in languages:
            if texts.get(candidate):
                return texts[candidate]
    return DEFAULT_RESPONSES.get(category, GENERIC)


# --- The review queue --------------------------------------------------------


def review_item_list(
    *,
    status: str | None,
    category: str | None = None,
    layer: str | None = None,
    direction: str | None = None,
    origin: str | None = None,
) -> QuerySet[ReviewItem]:
    """Newest first, with what the list shows of each item's context (the
    conversation's owner, the user message an answer replied to, who
    reported it). None leaves a filter out. `category` matches any category
    the verdict flagged, not only the top one."""
    items = ReviewItem.objects.select_related(
        "owner", "message__parent", "candidate__prompt", "reviewer", "reported_by"
    )
    if status is not None:
        items = items.filter(status=status)
    if category is not None:
        items = items.filter(**{f"verdict__categories__{category}": True})
    if layer is not None:
        items = items.filter(layer=layer)
    if direction is not None:
        items = items.filter(direction=direction)
    if origin is not None:
        items = items.filter(origin=origin)
    return items.order_by("-created_at", "-id")


def review_item_get(*, item_id: int) -> ReviewItem | None:
    return review_item_list(status=None).filter(pk=item_id).first()


def review_items_by_ids(*, item_ids: list[int]) -> list[ReviewItem]:
    return list(review_item_list(status=None).filter(pk__in=item_ids))


def review_layer_choices() -> list[str]:
    """The layers an item can be filtered by: the configured ones and any
    that decided a stored item."""
    stored = ReviewItem.objects.exclude(layer="").values_list("layer", flat=True).distinct()
    return sorted({*settings.MODERATION_LAYERS, *stored})


def review_report_is_open(*, message: Message, user) -> bool:
    """Whether `user` has a report on `message` that no moderator decided yet."""
    return ReviewItem.objects.filter(
        message=message, reported_by=user, origin=ReviewItem.Origin.REPORT, status=ReviewItem.Status.OPEN
    ).exists()


def review_decision_list(*, item: ReviewItem) -> QuerySet[ReviewDecision]:
    return item.decisions.select_related("reviewer").order_by("at", "id")


def review_item_flagged_message_id(*, item: ReviewItem) -> int | None:
    """The message whose text was judged. Input moderation files its item on
    the answer that the template replaced, so the flagged text is the user
    message above it."""
    message = item.message
    if message is None:
        return None
    wanted_role = Message.Role.USER if item.direction == ReviewItem.Direction.INPUT else Message.Role.ASSISTANT
    return message.pk if message.role == wanted_role else message.parent_id


@dataclass(frozen=True)
class ContextTurn:
    """A turn of a labeling prompt, or a conversation's system prompt,
    shown like a chat message."""

    role: str
    content: str
    pk = None
    status = ""

    def get_role_display(self) -> str:
        return self.role.capitalize()


def review_item_context(*, item: ReviewItem) -> list[Message | ContextTurn]:
    """The conversation's system prompt, then its branch from the root down
    to the item's message, in order: what the model read (the path the
    owner saw, as chat.selectors.branch_path walks it), so a request hidden
    in the system prompt or in a client's history is seen.
    An annotators' item shows its prompt, the candidate answering it last.
    Nothing once the conversation or candidate was purged: the item's own
    text is then all there is."""
    if item.candidate_id:
        turns = [*item.candidate.prompt.messages, {"role": "assistant", "content": item.candidate.text}]
        return [ContextTurn(role=t["role"], content=t["content"]) for t in turns]
    if item.message_id is None:
        return []
    conversation = item.message.conversation
    by_id = {message.pk: message for message in conversation.messages.all()}
    path = []
    node = by_id.get(item.message_id)
    while node is not None:
        path.append(node)
        node = by_id.get(node.parent_id)
    if conversation.system_prompt.strip():
        path.append(ContextTurn(role="system", content=conversation.system_prompt))
    return path[::-1]


# --- Labelled data -----------------------------------------------------------



def labelled_examples() -> list[tuple[str, Labels]]:
    """(text, labels) from moderators' decisions, oldest decision first.
    Labels name every category: a confirmed item labels its flagged
    categories 1 and leaves the others None (unknown); an overturned item
    labels every category 0. Only an item's latest decision counts, which
    is its status. A confirmed user's report says the answer is bad but not
    in which category, so it is left out, as is an empty text."""
    decided = ReviewItem.objects.filter(
        status__in=[ReviewItem.Status.CONFIRMED, ReviewItem.Status.OVERTURNED]
    ).order_by("decided_at", "id")
    examples = []
    for item in decided.only("text", "status", "origin", "verdict"):
        if not item.text.strip():
            continue
        if item.status == ReviewItem.Status.OVERTURNED:
            examples.append((item.text, dict.fromkeys(CATEGORIES, 0)))
            continue
        # A confirmed report says the answer is bad, not in which category.
        flagged = item.flagged_categories() if item.origin == ReviewItem.Origin.AUTOMATIC else []
        if flagged:
            examples.append((item.text, {category: 1 if category in flagged else None for category in CATEGORIES}))
    return examples


def seed_examples(*, path: Path | None = None) -> list[tuple[str, Labels]]:
    """(text, labels) from the seed JSONL file (`settings.MODERATION_SEED_DATA`
    unless `path` is given): `prompt` and 0/1 labels under S, H, V, HR, SH,
    S3, H2, V2; a missing key, or a category the file does not label, is
    None. No file, no examples; unreadable lines are skipped."""
    path = Path(path or settings.MODERATION_SEED_DATA)
    if not path.is_file():
        return []
    examples = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text = row["prompt"]
                labels: Labels = dict.fromkeys(CATEGORIES)
                for key, category in OPENAI_LABELS.items():
                    if row.get(key) is not None:
                        labels[category] = int(row[key])
            except (ValueError, KeyError, TypeError):
                logger.warning("Skipping line %d of %s: not a labelled example.", number, path)
                continue
            if isinstance(text, str) and text.strip():
                examples.append((text, labels))
    return examples


def training_examples() -> list[tuple[str, Labels]]:
    """What retraining learns from: the seed set, then the decisions."""
    return seed_examples() + labelled_examples()


# --- Dashboard ---------------------------------------------------------------


@dataclass(frozen=True)
class DayFlagRates:
    day: date
    moderated: int  # messages moderation judged that day, both directions
    flagged: int  # automatically flagged items, any category
    by_category: dict[str, int]

    def rate(self, count: int) -> float | None:
        return count / self.moderated if self.moderated else None

    @property
    def flag_rate(self) -> float | None:
        return self.rate(self.flagged)

    def category_rates(self, categories: list[str]) -> list[tuple[str, int, float | None]]:
        return [(category, self.by_category[category], self.rate(self.by_category[category])) for category in categories]


def flag_rates_by_day(*, days: int = 14, today: date | None = None) -> list[DayFlagRates]:
    """Per day (UTC) of the last `days`, oldest first: automatically flagged
    items per category over the messages moderated that day. A message
    counts once: the answer that input moderation replaced carries its
    question's verdict but was never judged itself."""
    today = today or timezone.now().date()
    first = today - timedelta(days=days - 1)
    moderated = dict(
        Message.objects.filter(moderation__isnull=False, created_at__date__gte=first, created_at__date__lte=today)
        .exclude(role=Message.Role.ASSISTANT, review_items__direction=ReviewItem.Direction.INPUT)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("pk", distinct=True))
        .values_list("day", "n")
    )
    per_category = {f"c{index}": Count("pk", filter=Q(**{f"verdict__categories__{category}": True}))
                    for index, category in enumerate(CATEGORIES)}
    flagged = {
        row["day"]: row
        for row in ReviewItem.objects.filter(
            origin=ReviewItem.Origin.AUTOMATIC, created_at__date__gte=first, created_at__date__lte=today
        )
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(total=Count("pk"), **per_category)
    }
    rows = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        counts = flagged.get(day, {})
        rows.append(
            DayFlagRates(
                day=day,
                moderated=moderated.get(day, 0),
                flagged=counts.get("total", 0),
                by_category={category: counts.get(f"c{index}", 0) for index, category in enumerate(CATEGORIES)},
            )
        )
    return rows


@dataclass(frozen=True)
class LayerOverturnRate:
    layer: str  # "" for users' reports
    origin: str
    decided: int
    overturned: int

    @property
    def rate(self) -> float | None:
        return self.overturned / self.decided if self.decided else None

    @property
    def label(self) -> str:
        return "user reports" if self.origin == ReviewItem.Origin.REPORT else (self.layer or "unknown")


def overturn_rates_by_layer() -> list[LayerOverturnRate]:
    """Per deciding layer (users' reports apart): decided items and how many
    moderators overturned, by each item's latest decision."""
    rows = (
        ReviewItem.objects.exclude(status=ReviewItem.Status.OPEN)
        .values("origin", "layer")
        .annotate(decided=Count("pk"), overturned=Count("pk", filter=Q(status=ReviewItem.Status.OVERTURNED)))
        .order_by("origin", "layer")
    )
    return [LayerOverturnRate(**row) for row in rows]


# --- The classifier ----------------------------------------------------------


def classifier_training_list(*, limit: int = 50) -> list[ClassifierTraining]:
    return list(ClassifierTraining.objects.select_related("requested_by", "model_version").order_by("-created_at", "-id")[:limit])


def classifier_training_active() -> ClassifierTraining | None:
    """A training that is queued or running and not stale, if any."""
    return ClassifierTraining.objects.filter(
        state__in=ClassifierTraining.ACTIVE_STATES, created_at__gte=timezone.now() - ClassifierTraining.STALE_AFTER
    ).first()


def classifier_version_list() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.filter(kind=ModelVersion.Kind.CLASSIFIER).order_by("-created_at", "-id")


def serving_classifier_version() -> ModelVersion | None:
    """The newest classifier version an admin promoted (the rule the
    classifier layer loads by)."""
    return classifier_version_list().filter(metadata__serving=True).first()


# The head shipped with the app, which moderates until an admin promotes a
# trained version.
DEFAULT_HEAD_DIR = Path(__file__).resolve().parent / "heads" / "default"

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
        (f"{category} {name}", _figure(figures, f"categories.{category}.{path}"), _figure(serving, f"categories.{category}.{path}"))
        for category in CATEGORIES
        if category in named
        for name, path in CATEGORY_FIGURES
    ]
    return headline, detail


def _head_metadata(directory: Path) -> dict:
    try:
        return json.loads((Path(directory) / "metadata.json").read_text())
    except (OSError, ValueError):
        return {}


@dataclass(frozen=True)
class ServingHead:
    name: str
    version: ModelVersion | None  # None: the shipped default head
    figures: dict


def serving_classifier_head() -> ServingHead:
    """The head that moderates now and its cross-validated figures: the
    promoted version, else the shipped default head."""
    version = serving_classifier_version()
    if version is not None:
        figures = (version.metadata or {}).get("figures") or _head_metadata(Path(version.path)).get("cross_validation", {})
        return ServingHead(name=version.name, version=version, figures=figures or {})
    return ServingHead(
        name="default (shipped)", version=None, figures=_head_metadata(DEFAULT_HEAD_DIR).get("cross_validation", {})
    )


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


def moderation_dashboard(*, days: int = 14) -> dict:
    """What the dashboard shows: flag rates per category and day over the
    last `days` (only categories flagged in that time get a column), with
    bar heights relative to the busiest day, and overturn rates per layer."""
    rows = flag_rates_by_day(days=days)
    categories = [category for category in CATEGORIES if any(row.by_category[category] for row in rows)]
    moderated = sum(row.moderated for row in rows)
    flagged = sum(row.flagged for row in rows)
    peak = max((row.flag_rate or 0.0 for row in rows), default=0.0)
    return {
        "days": days,
        "categories": categories,
        "rows": [
            {
                "day": row.day,
                "moderated": row.moderated,
                "flagged": row.flagged,
                "rate": row.flag_rate,
                "cells": row.category_rates(categories),
                "bar": round(100 * (row.flag_rate or 0.0) / peak, 1) if peak else 0.0,
            }
            for row in rows
        ],
        "totals": {
            "moderated": moderated,
            "flagged": flagged,
            "rate": flagged / moderated if moderated else None,
            "cells": [
                (category, count, count / moderated if moderated else None)
                for category in categories
                for count in [sum(row.by_category[category] for row in rows)]
            ],
        },
        "layers": [
            {"row": layer, "bar": round(100 * layer.rate, 1) if layer.rate is not None else 0.0}
            for layer in overturn_rates_by_layer()
        ],
    }
