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

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __str__(self):
        return f"{self.user_id} {self.day}: {self.tokens} tokens"
