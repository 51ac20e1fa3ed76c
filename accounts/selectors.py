from django.db.models import Q

from .models import Role, User


def user_is_last_admin(*, user: User) -> bool:
    """Whether `user` is the only account with admin rights (role or
    superuser, active and approved): demoting them would leave nobody able
    to undo it."""
    if not user.is_admin:
        return False
    others = User.objects.filter(Q(role=Role.ADMIN) | Q(is_superuser=True), is_active=True, is_approved=True)
    return not others.exclude(pk=user.pk).exists()


def access_change_refusal(*, actor: User, user: User, role: str | None, is_approved: bool | None) -> str | None:
    """Why `actor` may not make this change, or None: nobody takes away
    their own approval or admin role (they would lock themselves out
    mid-click), and nobody demotes the last admin."""
    takes_admin = (role is not None and role != Role.ADMIN) or is_approved is False
    if not (takes_admin and user.is_admin):
        return None
    if user.pk == actor.pk:
        what = "approval" if is_approved is False else "admin role"
        return f"You cannot take away your own {what}: ask another admin to do it."
    if user_is_last_admin(user=user):
        return f"{user.username} is the only admin: make another account admin first."
    return None


# Role.USER < ANNOTATOR < MODERATOR < ADMIN: a change down this order takes something away.
_ROLE_RANK = {Role.USER: 0, Role.ANNOTATOR: 1, Role.MODERATOR: 2, Role.ADMIN: 3}


def access_change_loss(*, user: User, role: str | None, is_approved: bool | None) -> str | None:
    """What the change takes away from `user`, in words for the confirmation
    page, or None when it takes nothing (a grant, or no change)."""
    if is_approved is False and user.is_approved:
        return f"Revoke {user.username}'s approval: they will see only the waiting page until approved again."
    current = Role.ADMIN if user.is_superuser else user.role
    if role is not None and _ROLE_RANK[Role(role)] < _ROLE_RANK[Role(current)]:
        return f"Change {user.username}'s role from {Role(current).label} to {Role(role).label}."
    return None
