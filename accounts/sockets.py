"""When an account's rights may have changed, its open sockets are closed
(core/user_sockets.py) and the pages' reconnects are judged afresh.

Receivers, connected in AccountsConfig.ready(), rather than calls in the
services: the Django admin, `changepassword`, Django's password and logout
views and group edits change rights without passing through
accounts/services.py. Changes that only add rights through groups or
permissions close nothing; a save of the user's rights fields closes even
when it grants (a reconnect costs the page a second)."""

import logging

from django.contrib.auth import get_user_model
from django.db import transaction

from core.user_sockets import user_sockets_close

logger = logging.getLogger(__name__)

# What Channels resolves at the handshake and the consumers judge.
RIGHTS_FIELDS = frozenset({"is_active", "is_approved", "role", "arena_enabled", "is_superuser", "is_staff", "password"})


def _close_on_commit(user_ids) -> None:
    user_ids = sorted(set(user_ids))
    if user_ids:
        transaction.on_commit(lambda: _close(user_ids))


def _close(user_ids: list[int]) -> None:
    for user_id in user_ids:
        try:
            user_sockets_close(user_id=user_id)
        except Exception:  # Redis is down: so is every socket's channel layer
            logger.warning("Could not close the sockets of user %s", user_id, exc_info=True)


def on_user_saved(sender, instance, created, update_fields=None, **kwargs):
    if not created and (update_fields is None or RIGHTS_FIELDS & set(update_fields)):
        _close_on_commit([instance.pk])


def on_user_deleted(sender, instance, **kwargs):
    _close_on_commit([instance.pk])


def on_logged_out(sender, request, user, **kwargs):
    """Django deletes the session just after this signal. It is deleted
    here first: a socket that reconnected the instant it was closed would
    otherwise find its session still good."""
    if user is not None:
        request.session.flush()
        _close_on_commit([user.pk])


def on_user_relation_removed(sender, instance, action, reverse, pk_set, **kwargs):
    """User.groups or User.user_permissions lost rows, from either side
    (`reverse`: `instance` is the group or permission, `pk_set` users)."""
    if not reverse and action in ("post_remove", "post_clear"):
        _close_on_commit([instance.pk])
    elif reverse and action == "post_remove":
        _close_on_commit(pk_set)
    elif reverse and action == "pre_clear":
        _close_on_commit(instance.user_set.values_list("pk", flat=True))


def on_group_permissions_removed(sender, instance, action, reverse, pk_set, **kwargs):
    """Group.permissions lost rows: every member of the groups concerned."""
    members = get_user_model().objects.values_list("pk", flat=True)
    if not reverse and action in ("post_remove", "post_clear"):
        _close_on_commit(members.filter(groups=instance))
    elif reverse and action == "post_remove":
        _close_on_commit(members.filter(groups__in=pk_set))
    elif reverse and action == "pre_clear":
        _close_on_commit(members.filter(groups__permissions=instance))


def on_group_deleted(sender, instance, **kwargs):
    _close_on_commit(instance.user_set.values_list("pk", flat=True))
