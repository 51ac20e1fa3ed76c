"""The admins' feedback page: every thumbs up and down with its reasons and
comment, filtered by model version, rating, reason and dates, and the counts
per version. What it shows of the conversations behind them, and why, is
in metrics.feedback_selectors."""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from accounts.access import role_required
from accounts.models import Role

from .feedback_forms import FeedbackFilterForm
from .feedback_selectors import feedback_counts_by_version, feedback_list

PAGE_SIZE = 50


@role_required(Role.ADMIN)
@require_GET
def feedback_view(request):
    form = FeedbackFilterForm(request.GET)
    context = {"form": form}
    if not form.is_valid():  # said on the page, with nothing listed that the filters did not ask for
        return render(request, "metrics/feedback.html", context, status=400)
    filters = form.filters()
    context.update(
        page=Paginator(feedback_list(**filters), PAGE_SIZE).get_page(request.GET.get("page")),
        counts=feedback_counts_by_version(version=filters["version"], since=filters["since"], before=filters["before"]),
        filter_query=urlencode(form.query()),
    )
    return render(request, "metrics/feedback.html", context)
