"""Who may do what in the arena, checked on the server for pages, the API
and the socket alike. A user the admins have not enabled is refused
(403); another user's match looks like one that does not exist (404)."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.access import can_use_arena

from .models import ArenaMatch

ARENA_REFUSAL = "The arena is open to the users an admin lets in: ask an admin to enable it for you."


def arena_required(view):
    """View decorator: signed in (pages send anonymous visitors to log in;
    the API refuses them) and let into the arena."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated and not request.path.startswith("/arena/api/"):
            return redirect_to_login(request.get_full_path())
        if not can_use_arena(request.user):
            raise PermissionDenied(ARENA_REFUSAL)
        return view(request, *args, **kwargs)

    return wrapped


def can_run_trials(user) -> bool:
    return can_use_arena(user) and user.is_admin


def access_match_by_id(user, match_id) -> ArenaMatch:
    if not can_use_arena(user):
        raise PermissionDenied(ARENA_REFUSAL)
    try:
        return ArenaMatch.objects.select_related("question", "answer_a", "answer_b", "version_a", "version_b").get(
            pk=int(match_id), user=user
        )
    except (ArenaMatch.DoesNotExist, TypeError, ValueError):
        raise Http404("No such match.") from None
