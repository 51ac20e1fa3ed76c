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
