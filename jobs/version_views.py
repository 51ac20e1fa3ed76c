"""The model versions' pages: the versions (with the admins' "serve chat"
promotion) and a version's lineage back to where it started. People who may
train see them; only admins promote. They read and write through registry's
selectors and services; they live here, above registry, because who may see
them is the jobs app's rule (access.trainer_required)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.access import role_required
from accounts.models import Role
from registry.models import ModelVersion
from registry.selectors import model_version_lineage, model_version_list
from registry.services import model_version_promote

from .access import trainer_required


@trainer_required
@require_GET
def model_version_list_view(request):
    return render(request, "jobs/version_list.html", {"versions": model_version_list()})


@trainer_required
@require_GET
def model_version_lineage_view(request, version_id: int):
    version = get_object_or_404(ModelVersion, pk=version_id)
    return render(
        request, "jobs/version_lineage.html", {"version": version, "chain": model_version_lineage(version=version)}
    )


@role_required(Role.ADMIN)
@require_POST
def model_version_promote_view(request, version_id: int):
    version = get_object_or_404(ModelVersion, pk=version_id)
    if version.kind != ModelVersion.Kind.POLICY:
        messages.error(
            request, f"{version.name} is a {version.get_kind_display().lower()}; only a policy can serve chat."
        )
    else:
        model_version_promote(version=version)
        messages.success(request, f"{version.name} now serves chat; the next answer uses it.")
    return redirect("versions:list")
