"""Reading usage: a user's day against their quota (the admin page's tables
are metrics/usage_selectors.py's)."""

from django.conf import settings
from django.utils import timezone

from .models import DailyUsage


def daily_token_quota(*, user) -> int:
    """The user's own quota when an admin set one, else the site's
    (USAGE_DAILY_TOKEN_QUOTA); 0 is unlimited. Admins are never limited."""
    if user.is_admin:
        return 0
    if user.daily_token_quota is not None:
        return user.daily_token_quota
    return settings.USAGE_DAILY_TOKEN_QUOTA


def tokens_used_today(*, user) -> int:
    row = DailyUsage.objects.filter(user=user, day=timezone.now().date()).first()
    return row.tokens if row else 0
