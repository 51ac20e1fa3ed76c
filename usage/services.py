"""Counting usage and enforcing quotas."""
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from chat.errors import ChatError

from .models import DailyUsage
from .selectors import daily_token_quota, tokens_used_today


def usage_record(*, user_id: int, answers: int = 0, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
    """Adds to the user's row for today (UTC), creating it on first use.
    Increments happen in the database (F expressions), so workers writing
    answers of one user at once never lose a count."""
    day = timezone.now().date()
    increments = {
        "answers": F("answers") + answers,
        "prompt_tokens": F("prompt_tokens") + prompt_tokens,
        "completion_tokens": F("completion_tokens") + completion_tokens,
    }
    if DailyUsage.objects.filter(user_id=user_id, day=day).update(**increments):
        return
    try:
        with transaction.atomic():
            DailyUsage.objects.create(
                user_id=user_id, day=day, answers=answers, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
            )
    except IntegrityError:  # another worker created today's row first
        DailyUsage.objects.filter(user_id=user_id, day=day).update(**increments)


def quota_check(*, user) -> None:
    """Raises ChatError("quota_exceeded") once the user's tokens today
    reach their daily quota (the rate limiter calls it before each answer)."""
    quota = daily_token_quota(user=user)
    if not quota:
        return
    used = tokens_used_today(user=user)
    if used >= quota:
        raise ChatError(
            "quota_exceeded",
            f"You have used your {quota:,} tokens for today ({used:,}); the quota resets at midnight UTC.",
        )
