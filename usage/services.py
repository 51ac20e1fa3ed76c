"""Counting usage and enforcing the per-user limits: the daily token quota
and the per-minute rate of answers."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from core.errors import UserError

from .models import AnswerStart, DailyUsage
from .selectors import daily_token_quota, tokens_used_today

RATE_WINDOW = timedelta(minutes=1)


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
                user_id=user_id,
                day=day,
                answers=answers,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
            )
    except IntegrityError:  # another worker created today's row first
        DailyUsage.objects.filter(user_id=user_id, day=day).update(**increments)


def quota_check(*, user) -> None:
    """Raises UserError("quota_exceeded") once the user's tokens today
    reach their daily quota (the rate limiter calls it before each answer)."""
    quota = daily_token_quota(user=user)
    if not quota:
        return
    used = tokens_used_today(user=user)
    if used >= quota:
        raise UserError(
            "quota_exceeded",
            f"You have used your {quota:,} tokens for today ({used:,}); the quota resets at midnight UTC.",
        )


def answers_admit(*, user, answers: int = 1) -> None:
    """Counts `answers` new answers for `user`, or raises UserError when the
    daily quota is used up (quota_exceeded) or they would pass the
    per-minute rate (rate_limited). Precondition: inside the transaction
    that stores the answers, so a rollback takes the count back with them.

    It first takes the user's limits lock, held until that transaction
    ends: another transaction admitting answers for the same user waits,
    then counts these, as do the caller's own checks after this one.
    PostgreSQL locks the user's row (FOR NO KEY UPDATE, which inserts of
    rows that point at the user do not wait for). SQLite ignores the lock
    but has one writer at a time: the count is written before it is read,
    and a transaction whose reads another has overtaken is refused its
    write ("database is locked", run again by core.db.retry_if_locked)."""
    list(get_user_model().objects.select_for_update(no_key=True).filter(pk=user.pk).values_list("pk", flat=True))
    quota_check(user=user)
    now = timezone.now()
    with transaction.atomic():  # a refusal takes back the row it wrote
        AnswerStart.objects.create(user=user, at=now, answers=answers)
        recent = AnswerStart.objects.filter(user=user, at__gt=now - RATE_WINDOW).aggregate(n=Sum("answers"))["n"]
        if recent > settings.CHAT_RATE_LIMIT_PER_MINUTE:
            raise UserError(
                "rate_limited",
                f"You can send {settings.CHAT_RATE_LIMIT_PER_MINUTE} messages a minute. Please wait a moment.",
            )
    AnswerStart.objects.filter(user=user, at__lte=now - RATE_WINDOW).delete()
