from django.conf import settings
from django.db import models


class DailyUsage(models.Model):
    """What one user's chat cost on one UTC day: answers written and the
    tokens read (prompt) and written (completion) for them. Counted when
    each answer ends, by the worker that wrote it (usage/services.py)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="daily_usage")
    day = models.DateField()
    answers = models.PositiveIntegerField(default=0)
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="one_usage_row_per_user_day")]
        indexes = [models.Index(fields=["day"])]

    def __str__(self):
        return f"{self.user_id} {self.day}: {self.tokens} tokens"

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class AnswerStart(models.Model):
    """Answers a user started at one moment (a send, a regeneration, an arena
    round's two): what the per-minute rate limit counts. Kept here, not read
    off chat's messages, which their owner can delete. Rows older than the
    window are pruned as new ones come (services.answers_admit)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField()
    answers = models.PositiveSmallIntegerField(default=1)

    class Meta:
        indexes = [models.Index(fields=["user", "at"])]

    def __str__(self):
        return f"{self.user_id} at {self.at}: {self.answers} answers"
