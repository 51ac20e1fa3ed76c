"""Admins' gold pages: the gold items with their answers' scores, marking a
ranking task gold (from its consensus or an order set by hand) or a label
task (with an accept/reject verdict on its answer), retiring
one, and clearing an annotator's hold for review. The figures per
annotator are on the annotators page (labeling.views). Every view is for
admins only; each parses its input, calls one labeling.gold service and
redirects."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.access import role_required
from accounts.models import Role
from core.errors import UserError

from . import gold
from .models import GoldItem


class GoldMarkForm(forms.Form):
    task_id = forms.IntegerField(min_value=1, label="Ranking task #")
    reference = forms.CharField(
        required=False,
        max_length=500,
        label="Reference, best first",
        help_text="Candidate ids as “#3 > #1 = #2”; empty: the task's consensus.",
    )


class GoldLabelMarkForm(forms.Form):
    task_id = forms.IntegerField(min_value=1, label="Label task #")
    verdict = forms.ChoiceField(
        choices=GoldItem.Verdict.choices,
        label="Verdict on its answer",
        help_text="Accept: not spam, no personal data, harmless enough to keep. Reject: it fails one of those.",
        error_messages={"invalid_choice": "Choose accept or reject as the verdict."},
    )


class GoldActiveForm(forms.Form):
    active = forms.BooleanField(required=False)


def _back(request, fallback: str):
    """Where the form was posted from when it is one of ours, else `fallback`."""
    target = request.POST.get("next", "")
    return redirect(target if target.startswith("/labeling/admin/") else fallback)


@role_required(Role.ADMIN)
@require_GET
def gold_list_view(request):
    return render(
        request,
        "labeling/admin_gold.html",
        {
            "section": "gold",
            "items": gold.gold_items(),
            "form": GoldMarkForm(),
            # Its own ids: both forms have a task_id field on one page.
            "label_form": GoldLabelMarkForm(auto_id="id_label_%s"),
            "rate_percent": round(settings.LABELING_GOLD_RATE * 100),
        },
    )


@role_required(Role.ADMIN)
@require_POST
def gold_mark_view(request):
    form = GoldMarkForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(m for errors in form.errors.values() for m in errors))
        return _back(request, "labeling:admin-gold")
    try:
        text = form.cleaned_data["reference"].strip()
        item = gold.gold_mark(
            task_id=form.cleaned_data["task_id"],
            marked_by=request.user,
            reference=gold.reference_parse(text) if text else None,
        )
    except UserError as error:
        messages.error(request, error.message)
        return _back(request, "labeling:admin-gold")
    messages.success(request, f"Task #{item.task_id} is gold ({item.get_source_display().lower()}).")
    return _back(request, "labeling:admin-gold")


@role_required(Role.ADMIN)
@require_POST
def gold_label_mark_view(request):
    form = GoldLabelMarkForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(m for errors in form.errors.values() for m in errors))
        return _back(request, "labeling:admin-gold")
    try:
        item = gold.gold_label_mark(
            task_id=form.cleaned_data["task_id"], marked_by=request.user, verdict=form.cleaned_data["verdict"]
        )
    except UserError as error:
        messages.error(request, error.message)
        return _back(request, "labeling:admin-gold")
    messages.success(request, f"Label task #{item.task_id} is gold (verdict: {item.get_verdict_display().lower()}).")
    return _back(request, "labeling:admin-gold")


@role_required(Role.ADMIN)
@require_POST
def gold_active_view(request, gold_id: int):
    form = GoldActiveForm(request.POST)
    form.is_valid()
    try:
        item = gold.gold_set_active(gold_id=gold_id, active=form.cleaned_data.get("active", False))
    except UserError as error:
        messages.error(request, error.message)
        return redirect("labeling:admin-gold")
    state = "served again" if item.active else "retired: no longer served"
    messages.success(request, f"Gold item of task #{item.task_id} {state}.")
    return redirect("labeling:admin-gold")


@role_required(Role.ADMIN)
@require_POST
def gold_hold_clear_view(request, user_id: int):
    annotator = get_object_or_404(get_user_model(), pk=user_id)
    try:
        gold.gold_hold_clear(annotator_id=annotator.pk, cleared_by=request.user)
    except UserError as error:
        messages.error(request, error.message)
        return redirect("labeling:admin-annotators")
    messages.success(request, f"{annotator.username} gets real tasks again.")
    return redirect("labeling:admin-annotators")
