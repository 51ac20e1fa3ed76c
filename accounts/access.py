"""Role checks shared by views, consumers and tasks: the server decides."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from .models import Role

_ROLE_PLURALS = {Role.ANNOTATOR: "annotators", Role.MODERATOR: "moderators", Role.ADMIN: "admins"}


def can_chat(user) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_approved)


def role_refusal(roles) -> str:
    """Why a role-gated page refused: whom it is for and which role to ask
    an admin for, shown on the 403 page (templates/403.html)."""
    named = [role for role in roles if role != Role.ADMIN]
    if not named:
        return "This page is for admins."
    groups = [_ROLE_PLURALS[role] for role in named] + ["admins"]
    listed = ", ".join(groups[:-1]) + " and " + groups[-1]
    return f"This page is for {listed}: ask an admin for the {Role(named[0]).label.lower()} role."


def role_required(*roles: str):
    """View decorator: signed in, approved, and one of `roles` (admins always
    pass); otherwise PermissionDenied saying which role the page needs."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not request.user.has_role(*roles):
                raise PermissionDenied(role_refusal(roles))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def can_use_arena(user) -> bool:
    """Arena rounds are for the users an admin enabled, and for admins."""
    return can_chat(user) and (user.arena_enabled or user.is_admin)
