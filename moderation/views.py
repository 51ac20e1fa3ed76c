"""The review queue for moderators: a list and a page per item on which
the item is confirmed or overturned."""
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render

from accounts.access import role_required
from accounts.models import Role

from .forms import ReviewDecisionForm, ReviewFilterForm
from .selectors import review_decision_list, review_item_get, review_item_list
from .services import review_item_decide

PAGE_SIZE = 50


@role_required(Role.MODERATOR)
def review_list_view(request):
    filter_form = ReviewFilterForm(request.GET)
    status = filter_form.selected_status()
    page = Paginator(review_item_list(status=status), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "moderation/review_list.html",
        {"page": page, "status": status or "all", "statuses": filter_form.fields["status"].choices},
    )


@role_required(Role.MODERATOR)
def review_detail_view(request, item_id: int):
    item = review_item_get(item_id=item_id)
    if item is None:
        raise Http404("No such review item.")
    form = ReviewDecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        review_item_decide(
            item=item, reviewer=request.user, decision=form.cleaned_data["decision"], note=form.cleaned_data["note"]
        )
        messages.success(request, f"Review #{item.pk}: {item.get_status_display().lower()}.")
        return redirect("moderation:review-list")
    return render(
        request,
        "moderation/review_detail.html",
        {"item": item, "form": form, "decisions": review_decision_list(item=item)},
        status=400 if request.method == "POST" else 200,
    )
