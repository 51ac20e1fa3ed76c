"""My reports, under the data controls (/accounts/data/reports/): the
answers a user reported and what became of each."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .reports import report_list


@require_GET
@login_required
def report_list_view(request):
    return render(request, "chat/data_controls/reports.html", {"reports": report_list(user=request.user)})
