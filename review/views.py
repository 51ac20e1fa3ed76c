"""Moderators' pages: the review queue (a list with keyboard-driven and bulk
decisions, a page per item), the dashboard, and the classifier's trainings
and versions, which only admins retrain and promote.

Decisions are plain form posts, so the queue works without JavaScript; the
queue's script posts the same forms with `Accept: application/json` and gets
the updated items back instead of a redirect."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts.access import role_required
from accounts.models import Role
from moderation.classifier.serving import serving_classifier_head
from moderation.selectors import classifier_training_active, classifier_training_list, classifier_version_list
from moderation.services import classifier_training_request, classifier_version_promote

from .classifier import classifier_version_rows, serving_head_figures
from .dashboard import moderation_dashboard
from .forms import ReviewBulkDecisionForm, ReviewDecisionForm, ReviewFilterForm
from .selectors import (
    review_decision_list,
    review_item_context,
    review_item_flagged_message_id,
    review_item_get,
    review_item_list,
    review_items_by_ids,
    review_layer_choices,
)
from .serializers import review_item_to_dict
from .services import review_item_decide, review_items_decide

PAGE_SIZE = 50


def _wants_json(request) -> bool:
    return request.get_preferred_type(["text/html", "application/json"]) == "application/json"


def _back(request, default: str):
    """Where a form post returns: its `next` (the queue with its filters and
    page) when that is a path on this site."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = default
    return redirect(target)


def _refused(request, form, default: str):
    error = "; ".join(message for errors in form.errors.values() for message in errors)
    if _wants_json(request):
        return JsonResponse({"error": error}, status=400)
    messages.error(request, error)
    return _back(request, default)


def _decided(request, items, decision: str):
    if _wants_json(request):
        return JsonResponse({"items": [review_item_to_dict(item) for item in items]})
    verb = "confirmed" if decision == "confirm" else "overturned"
    ids = ", ".join(f"#{item.pk}" for item in items)
    messages.success(request, f"Review {ids}: {verb}.")
    return _back(request, reverse("review:review-list"))


@role_required(Role.MODERATOR)
@require_GET
def review_list_view(request):
    filter_form = ReviewFilterForm(request.GET, layers=review_layer_choices())
    filters = filter_form.filters()
    page = Paginator(review_item_list(**filters), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "review/review_list.html",
        {
            "page": page,
            "filter_form": filter_form,
            "filter_query": urlencode(filter_form.query()),
            # The script moves an item decided out of this status below the list.
            "shown_status": filters["status"] or "",
        },
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
        return redirect("review:review-list")
    return render(
        request,
        "review/review_detail.html",
        {
            "item": item,
            "form": form,
            "decisions": review_decision_list(item=item),
            "path": review_item_context(item=item),
            "flagged_message_id": review_item_flagged_message_id(item=item),
        },
        status=400 if request.method == "POST" else 200,
    )


@role_required(Role.MODERATOR)
@require_POST
def review_item_decide_view(request, item_id: int):
    item = review_item_get(item_id=item_id)
    if item is None:
        raise Http404("No such review item.")
    form = ReviewDecisionForm(request.POST)
    if not form.is_valid():
        return _refused(request, form, reverse("review:review-list"))
    decision = form.cleaned_data["decision"]
    review_item_decide(item=item, reviewer=request.user, decision=decision, note=form.cleaned_data["note"])
    return _decided(request, [item], decision)


@role_required(Role.MODERATOR)
@require_POST
def review_items_decide_view(request):
    form = ReviewBulkDecisionForm(request.POST)
    if not form.is_valid():
        return _refused(request, form, reverse("review:review-list"))
    items = review_items_by_ids(item_ids=form.cleaned_data["ids"])
    if not items:
        raise Http404("No such review items.")
    decision = form.cleaned_data["decision"]
    items = review_items_decide(items=items, reviewer=request.user, decision=decision, note=form.cleaned_data["note"])
    return _decided(request, items, decision)


@role_required(Role.MODERATOR)
@require_GET
def dashboard_view(request):
    return render(request, "review/dashboard.html", moderation_dashboard(days=14))


@role_required(Role.MODERATOR)
@require_GET
def classifier_view(request):
    serving = serving_classifier_head()
    return render(
        request,
        "review/classifier.html",
        {
            "trainings": classifier_training_list(),
            "active": classifier_training_active(),
            "serving": serving,
            "serving_figures": serving_head_figures(serving=serving),
            "versions": classifier_version_rows(versions=list(classifier_version_list()), serving=serving),
        },
    )


@role_required(Role.ADMIN)
@require_POST
def classifier_retrain_view(request):
    training, created = classifier_training_request(requested_by=request.user)
    if created:
        messages.success(request, f"Training #{training.pk} is queued.")
    elif training.state == training.State.QUEUED:
        messages.info(request, f"Training #{training.pk} is already queued; it will learn from the latest decisions.")
    else:
        messages.info(request, f"Training #{training.pk} is running; retrain again when it has finished.")
    return redirect("review:classifier")


@role_required(Role.ADMIN)
@require_POST
def classifier_version_promote_view(request, version_id: int):
    version = classifier_version_list().filter(pk=version_id).first()
    if version is None:
        raise Http404("No such classifier version.")
    classifier_version_promote(version=version)
    messages.success(request, f"{version.name} now moderates.")
    return redirect("review:classifier")
