"""The model versions' pages: the versions (with the admins' "serve chat"
promotion, through the evaluation gate of promotion.py) and a version's
page: its lineage back to where it started, its evaluations, its arena
rating and its promotions. People who may train see them; only admins
promote. They live here, above registry, because who may see them is the
jobs app's rule (access.trainer_required)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.access import role_required
from accounts.models import Role
from arena.feedback_leaderboard import feedback_leaderboard
from arena.selectors import leaderboard
from core.errors import UserError
from registry.chat_versions import CHAT_LABEL_MAX_CHARS, DESCRIPTION_MAX_CHARS, model_version_chat_offer
from registry.models import ModelVersion
from registry.selectors import model_version_lineage, model_version_list

from .access import trainer_required
from .models import PromotionRecord, TrainingJob
from .promotion import promotion_check, version_promote


@trainer_required
@require_GET
def model_version_list_view(request):
    versions = list(model_version_list())
    serving = next((v for v in versions if v.is_serving and v.kind == ModelVersion.Kind.POLICY), None)
    gates = {
        version.pk: promotion_check(version=version, serving=serving)
        for version in versions
        if version.kind == ModelVersion.Kind.POLICY and not version.is_serving
    }
    for version in versions:
        version.gate = gates.get(version.pk)
    return render(request, "jobs/version_list.html", {"versions": versions})


@trainer_required
@require_GET
def model_version_lineage_view(request, version_id: int):
    version = get_object_or_404(ModelVersion, pk=version_id)
    evaluations = (
        TrainingJob.objects.filter(kind="evaluate", base_version=version)
        .select_related("baseline_version", "evaluation_set", "red_team_set")
        .prefetch_related("judge_versions")
        .order_by("-created_at")[:20]
    )
    arena = next((row for row in leaderboard() if row["version_id"] == version.pk), None)
    context = {
        "version": version,
        "chain": model_version_lineage(version=version),
        "evaluations": evaluations,
        "arena": arena,
        "chat_feedback": next(iter(feedback_leaderboard(version=version)), None),
        "chat_label_max": CHAT_LABEL_MAX_CHARS,
        "description_max": DESCRIPTION_MAX_CHARS,
        "gate": promotion_check(version=version) if version.kind == ModelVersion.Kind.POLICY else None,
        "promotions": PromotionRecord.objects.filter(version=version).select_related("previous", "promoted_by")[:20],
    }
    return render(request, "jobs/version_lineage.html", context)


@role_required(Role.ADMIN)
@require_POST
def model_version_chat_view(request, version_id: int):
    """An admin offers a policy in chat's model picker, under a display
    name and a description, or stops offering it (registry.chat_versions)."""
    version = get_object_or_404(ModelVersion, pk=version_id)
    available = request.POST.get("available") == "1"
    try:
        model_version_chat_offer(
            version=version,
            available=available,
            label=request.POST.get("label", ""),
            description=request.POST.get("description", ""),
        )
    except UserError as error:
        messages.error(request, error.message)
    else:
        offered = "offers it in its model picker" if available else "no longer offers it"
        messages.success(request, f"{version.name}: chat {offered}.")
    return redirect("versions:lineage", version.pk)


@role_required(Role.ADMIN)
@require_POST
def model_version_promote_view(request, version_id: int):
    """Promotes, or, where the gate does not pass and no reason came with
    the request, shows the gate's reason and asks for one (409)."""
    version = get_object_or_404(ModelVersion, pk=version_id)
    reason = request.POST.get("override_reason", "")
    try:
        record = version_promote(version=version, promoted_by=request.user, override_reason=reason)
    except UserError as error:
        if error.code != "evaluation_required" or reason.strip():
            messages.error(request, error.message)
            return redirect("versions:list")
        context = {"version": version, "gate": promotion_check(version=version)}
        return render(request, "jobs/version_promote.html", context, status=409)
    note = "" if record.gate_passed else " (gate overridden; the reason is in the audit log)"
    messages.success(request, f"{version.name} now serves chat; the next answer uses it{note}.")
    return redirect("versions:list")
