"""The admins' usage page's tables: tokens per day and per user, compute
per training job and per model version. They read every app, so they sit
with the other pages that do (usage itself only counts and admits)."""

from datetime import timedelta

from django.db.models import F, Sum
from django.utils import timezone

from accounts.models import User
from jobs.models import TrainingJob
from registry.models import ModelVersion
from usage.models import DailyUsage
from usage.selectors import daily_token_quota


def usage_by_day(*, days: int) -> list[dict]:
    """One row per day of the last `days` (today included), zeros where
    nothing was used, oldest first."""
    today = timezone.now().date()
    first = today - timedelta(days=days - 1)
    totals = {
        row["day"]: row
        for row in DailyUsage.objects.filter(day__gte=first)
        .values("day")
        .annotate(
            total_answers=Sum("answers"), total_prompt=Sum("prompt_tokens"), total_completion=Sum("completion_tokens")
        )
    }
    rows = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        row = totals.get(day, {})
        rows.append(
            {
                "day": day,
                "answers": row.get("total_answers", 0),
                "prompt_tokens": row.get("total_prompt", 0),
                "completion_tokens": row.get("total_completion", 0),
            }
        )
    return rows


def usage_by_user(*, days: int, limit: int = 50) -> list[dict]:
    """The heaviest users over the last `days`, with today's tokens and
    their quota."""
    today = timezone.now().date()
    rows = list(
        DailyUsage.objects.filter(day__gt=today - timedelta(days=days))
        .values("user_id")
        .annotate(
            total_answers=Sum("answers"),
            total_prompt=Sum("prompt_tokens"),
            total_completion=Sum("completion_tokens"),
            total=Sum("prompt_tokens") + Sum("completion_tokens"),
        )
        .order_by("-total")[:limit]
    )
    users = User.objects.in_bulk([row["user_id"] for row in rows])
    today_tokens = dict(
        DailyUsage.objects.filter(day=today, user_id__in=users)
        .annotate(total=F("prompt_tokens") + F("completion_tokens"))
        .values_list("user_id", "total")
    )
    return [
        {
            "user": users[row["user_id"]],
            "answers": row["total_answers"],
            "prompt_tokens": row["total_prompt"],
            "completion_tokens": row["total_completion"],
            "tokens": row["total"],
            "today": today_tokens.get(row["user_id"], 0),
            "quota": daily_token_quota(user=users[row["user_id"]]),
        }
        for row in rows
    ]


def compute_by_job(*, limit: int = 50) -> list:
    """The latest finished training jobs with their compute seconds (wall
    time times the processes that ran: jobs/runner.py records it)."""
    return list(
        TrainingJob.objects.filter(compute_seconds__isnull=False)
        .select_related("created_by", "output_version")
        .order_by("-finished_at")[:limit]
    )


def compute_by_version() -> list[dict]:
    """Each trained version's own compute seconds (its job's) and the
    total along its lineage (its base's total added), newest first."""
    versions = list(ModelVersion.objects.select_related("job").order_by("created_at"))
    total: dict[int, float] = {}
    rows = []
    for version in versions:  # oldest first: a base is counted before what derives from it
        own = (version.job.compute_seconds or 0.0) if version.job else 0.0
        total[version.pk] = own + total.get(version.base_id, 0.0)
        if own or total[version.pk]:
            rows.append({"version": version, "own": own, "lineage": total[version.pk]})
    return rows[::-1]
