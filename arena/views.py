from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.access import role_required
from accounts.models import Role
from core.errors import UserError
from core.http import json_body
from registry.models import ModelVersion

from . import selectors, services
from .access import access_match_by_id, arena_required
from .feedback_leaderboard import feedback_leaderboard
from .models import ArenaMatch

_MAX_JSON_BODY = 4 * 1024


def _api(view):
    """JSON API views: 403 for anyone not let into the arena (anonymous
    included), 404 for another user's match, 400 with a message for a vote
    that cannot be taken."""

    @arena_required
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Http404:
            return JsonResponse({"error": "Not found."}, status=404)
        except UserError as exc:
            status = 409 if exc.code == "already_decided" else 400
            return JsonResponse({"error": exc.message, "code": exc.code}, status=status)

    wrapped.__name__ = view.__name__
    return wrapped


def _json_body(request) -> dict:
    return json_body(request, max_bytes=_MAX_JSON_BODY)


@require_GET
@arena_required
def arena_page_view(request):
    return render(
        request,
        "arena/arena.html",
        {
            "enough_versions": len(selectors.arena_versions()) >= 2,
            "trial": None,
            "sides": [("a", "Model A"), ("b", "Model B")],
            "outcomes": ArenaMatch.Outcome.choices,
        },
    )


@require_GET
@role_required(Role.ADMIN)
def trial_page_view(request):
    """An admin chats with a non-serving version beside the serving one."""
    versions = selectors.trial_versions()
    chosen = None
    if request.GET.get("version"):
        chosen = next((v for v in versions if str(v.pk) == request.GET["version"]), None)
        if chosen is None:
            raise Http404("No such version to try.")
    return render(
        request,
        "arena/trial.html",
        {
            "versions": versions,
            "trial": chosen,
            "serving": selectors.trial_serving_version(),
            "history": selectors.trial_history(user=request.user),
            "sides": [("a", "Serving"), ("b", "On trial")],
            "outcomes": ArenaMatch.Outcome.choices,
        },
    )


@require_GET
@role_required(Role.ADMIN)
def leaderboard_view(request):
    context = {"rows": selectors.leaderboard(), "feedback_rows": feedback_leaderboard()}
    return render(request, "arena/leaderboard.html", context)


@require_GET
@_api
def match_detail_view(request, match_id: int):
    return JsonResponse(selectors.match_to_dict(access_match_by_id(request.user, match_id)))


@require_POST
@_api
def match_vote_view(request, match_id: int):
    match = access_match_by_id(request.user, match_id)
    outcome = _json_body(request).get("outcome")
    if not isinstance(outcome, str):
        raise UserError("invalid_outcome", "Say which answer is better: a, b, tie or both_bad.")
    match = services.match_vote(match=match, outcome=outcome)
    return JsonResponse(selectors.match_to_dict(access_match_by_id(request.user, match.pk)))


@require_POST
@role_required(Role.ADMIN)
def version_arena_view(request, version_id: int):
    """An admin lets a version into the arena (after its smoke check, which
    the generation worker runs) or takes it out; from /models/."""
    from .eligibility import arena_version_disable, arena_version_enable

    version = get_object_or_404(ModelVersion, pk=version_id)
    if request.POST.get("enable") == "1":
        try:
            arena_version_enable(version=version)
        except UserError as exc:
            messages.error(request, exc.message)
        else:
            messages.info(request, f"{version.name} is being checked; it plays in the arena once a test answer works.")
    else:
        arena_version_disable(version=version)
        messages.success(request, f"{version.name} no longer plays in new arena rounds.")
    return redirect("versions:list")
