"""The admins' usage page: tokens per day and per user (with quotas), and
compute seconds per training job and per model version."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.access import role_required
from accounts.models import Role

from .usage_charts import stacked_bars
from .usage_selectors import compute_by_job, compute_by_version, usage_by_day, usage_by_user

DAYS = 30


@role_required(Role.ADMIN)
@require_GET
def usage_dashboard_view(request):
    days = usage_by_day(days=DAYS)
    return render(
        request,
        "usage/dashboard.html",
        {
            "days": days,
            "days_count": DAYS,
            "chart": stacked_bars(
                days, keys=("prompt_tokens", "completion_tokens"), label=lambda row: f"{row['day']:%b %d}"
            ),
            "users": usage_by_user(days=DAYS),
            "jobs": compute_by_job(),
            "versions": compute_by_version(),
        },
    )
