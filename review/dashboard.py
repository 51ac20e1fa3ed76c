"""The moderators' dashboard: flag rates per category and day, and how
often moderators overturn each layer."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from chat.models import Message
from moderation.categories import CATEGORIES
from moderation.models import ReviewItem


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
        return [
            (category, self.by_category[category], self.rate(self.by_category[category])) for category in categories
        ]


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
    per_category = {
        f"c{index}": Count("pk", filter=Q(**{f"verdict__categories__{category}": True}))
        for index, category in enumerate(CATEGORIES)
    }
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
        "rate_ticks": [peak, peak / 2, 0.0],  # the flag-rate chart's value axis, top down
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
