"""What users said of the answers: the thumbs up and down of chat's
Feedback, listed and counted per model version for the admins' feedback
page (metrics.feedback_views).

Privacy: a Feedback row is the user's message to the operators (a rating,
the reasons they ticked, an optional comment), and chat keeps it whether or
not they share their chats, so the page shows it for everyone. The
conversation it was given on is another matter: its text reaches anyone but
its owner only when the owner opted into sharing (User.shares_chat_data)
and labeling took the disliked answer into its pool (labeling.from_chat,
which also leaves out what moderation refused); chat itself shows a
conversation to its owner alone (chat.access), admins included. So the
page links the conversation only where the pool holds it, to the pool's own
page of that prompt, and otherwise shows no word of it.
"""

import json
from datetime import datetime

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from chat.models import FEEDBACK_REASONS, Feedback
from labeling.models import Candidate
from registry.models import ModelVersion

DOWN_REASONS = FEEDBACK_REASONS[Feedback.Rating.DOWN]
UP_REASONS = FEEDBACK_REASONS[Feedback.Rating.UP]


def _has_reason(reason: str) -> Q:
    """Rows whose reasons include `reason`. The JSON list's text holds each
    reason quoted, on SQLite and PostgreSQL alike, so matching the quoted
    reason finds exactly that element (JSONField's `contains` is
    PostgreSQL's alone, and SQLite is the default database)."""
    return Q(reasons__icontains=json.dumps(reason))


def feedback_list(
    *,
    version: ModelVersion | None = None,
    rating: int | None = None,
    reason: str | None = None,
    since: datetime | None = None,
    before: datetime | None = None,
) -> QuerySet:
    """Feedback, newest first, each with `pool_prompt_id`: the labeling
    prompt its answer went to, None when the conversation was not shared."""
    rows = _filtered(version=version, since=since, before=before)
    if rating is not None:
        rows = rows.filter(rating=rating)
    if reason:
        rows = rows.filter(_has_reason(reason))
    shared = Candidate.objects.filter(source_feedback=OuterRef("pk")).values("prompt_id")[:1]
    return (
        rows.select_related("user", "message__model_version")
        .annotate(pool_prompt_id=Subquery(shared))
        .order_by("-created_at", "-pk")
    )


def feedback_counts_by_version(
    *, version: ModelVersion | None = None, since: datetime | None = None, before: datetime | None = None
) -> list[dict]:
    """Per model version that answered (`version` None: answers whose
    version is not recorded or was deleted): thumbs up and down, the share
    of ratings that are down, and each reason ticked with how often, in the
    order the rating's menu lists them (`down_reasons`, `up_reasons`: pairs,
    reasons never ticked left out). Over the page's version and dates, not
    its rating or reason: the down-rate of the thumbs-down alone would be 1."""
    down = Q(rating=Feedback.Rating.DOWN)
    up = Q(rating=Feedback.Rating.UP)
    rows = (
        _filtered(version=version, since=since, before=before)
        .values("message__model_version__name")
        .annotate(
            up=Count("pk", filter=up),
            down=Count("pk", filter=down),
            **{f"down_{i}": Count("pk", filter=down & _has_reason(r)) for i, r in enumerate(DOWN_REASONS)},
            **{f"up_{i}": Count("pk", filter=up & _has_reason(r)) for i, r in enumerate(UP_REASONS)},
        )
        .order_by("message__model_version__name")
    )
    return [
        {
            "version": row["message__model_version__name"],
            "up": row["up"],
            "down": row["down"],
            "down_rate": row["down"] / (row["up"] + row["down"]),
            "down_reasons": [(r, row[f"down_{i}"]) for i, r in enumerate(DOWN_REASONS) if row[f"down_{i}"]],
            "up_reasons": [(r, row[f"up_{i}"]) for i, r in enumerate(UP_REASONS) if row[f"up_{i}"]],
        }
        for row in rows
    ]


def _filtered(*, version, since, before) -> QuerySet:
    rows = Feedback.objects.all()
    if version is not None:
        rows = rows.filter(message__model_version=version)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if before is not None:
        rows = rows.filter(created_at__lt=before)
    return rows
