from django.db import transaction
from django.db.models import Q

from core.errors import UserError

from .models import Role, Theme, User
from .selectors import access_change_refusal
from .timezones import valid_time_zone

# user_update_access(daily_token_quota=UNSET_QUOTA): back to the site's default.
UNSET_QUOTA = -1


def user_update_access(
    *,
    user: User,
    role: str | None = None,
    is_approved: bool | None = None,
    arena_enabled: bool | None = None,
    daily_token_quota: int | None = None,
) -> User:
    """Changes what is given (None leaves a field as it is). A role below
    admin also takes away Django's superuser and staff flags: `has_role`
    honours is_superuser, so a demoted superuser would otherwise keep every
    power while the Users page said otherwise. An admin's change goes
    through user_change_access, which refuses what would leave the site
    without an admin (or the admin without their own rights)."""
    fields = []
    if daily_token_quota is not None:
        user.daily_token_quota = None if daily_token_quota == UNSET_QUOTA else daily_token_quota
        fields.append("daily_token_quota")
    if arena_enabled is not None:
        user.arena_enabled = arena_enabled
        fields.append("arena_enabled")
    if role is not None:
        user.role = role
        fields.append("role")
        if role != Role.ADMIN:
            user.is_superuser = user.is_staff = False
            fields += ["is_superuser", "is_staff"]
    if is_approved is not None:
        user.is_approved = is_approved
        fields.append("is_approved")
    if fields:
        user.save(update_fields=fields)
    return user


def admins_lock() -> None:
    """Locks the admins' rows until the transaction ends, so two admins
    demoting (or deleting) each other at once are judged one after the
    other, and the second is refused as the last admin."""
    list(
        User.objects.select_for_update()
        .filter(Q(role=Role.ADMIN) | Q(is_superuser=True), is_active=True, is_approved=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def user_set_theme(*, user: User, theme: str) -> User:
    if theme not in Theme.values:
        raise UserError("invalid_theme", f"The theme is one of {', '.join(Theme.values)}.")
    user.theme = theme
    user.save(update_fields=["theme"])
    return user


@transaction.atomic
def user_change_access(
    *,
    actor: User,
    user: User,
    role: str | None = None,
    is_approved: bool | None = None,
    arena_enabled: bool | None = None,
    daily_token_quota: int | None = None,
) -> User:
    """An admin's change to another account's access (the Users page):
    user_update_access, unless accounts.selectors.access_change_refusal
    refuses it (UserError "refused")."""
    admins_lock()
    refusal = access_change_refusal(actor=actor, user=user, role=role, is_approved=is_approved)
    if refusal:
        raise UserError("refused", refusal)
    return user_update_access(
        user=user, role=role, is_approved=is_approved, arena_enabled=arena_enabled, daily_token_quota=daily_token_quota
    )


def user_update_settings(*, user: User, shares_chat_data: bool, time_zone: str) -> User:
    """The user's own choices. Turning sharing off stops what is sent from
    now on; what was shared before stays in the labeling pool. `time_zone`
    is an IANA name, or empty for the browser's (accounts.timezones)."""
    if time_zone and valid_time_zone(time_zone) is None:
        raise UserError("invalid_time_zone", f"Unknown time zone: {time_zone[:64]}.")
    user.shares_chat_data = shares_chat_data
    user.time_zone = time_zone
    user.save(update_fields=["shares_chat_data", "time_zone"])
    return user


@transaction.atomic
def user_anonymise(*, user: User) -> User:
    """Closes the account for good, keeping its row: moderation's review
    items and decisions, arena votes and labeling work still point at it
    (ReviewItem.owner has no constraint to cascade through), now at a
    nameless, inactive account that cannot sign in, be reset or use an API
    key. Saving every field closes its sockets (accounts/sockets.py)."""
    user.username = f"deleted-{user.pk}"
    user.email = user.first_name = user.last_name = ""
    user.set_unusable_password()
    user.is_active = user.is_staff = user.is_superuser = user.arena_enabled = user.shares_chat_data = False
    user.role = Role.USER
    user.save()
    user.groups.clear()
    user.user_permissions.clear()
    return user
