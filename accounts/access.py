"""Role checks shared by views, consumers and tasks: the server decides."""
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied


def can_chat(user) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_approved)


def role_required(*roles: str):
    """View decorator: signed in, approved, and one of `roles` (admins always pass)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not request.user.has_role(*roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def can_use_arena(user) -> bool:
    """Arena rounds are for the users an admin enabled, and for admins."""
    return can_chat(user) and (user.arena_enabled or user.is_admin)
