"""Arena rounds: one prompt answered by two model versions side by side,
and the user's verdict on them.

A match owns a conversation of its own, so the answers go through the chat's
moderation and generation path unchanged; chat's access checks hide those
conversations from the chat pages, where the model names would show.
"""

from django.conf import settings
from django.db import models


class ArenaMatch(models.Model):
    """Side A is shown on the left, B on the right. In an arena match the
    two versions are drawn at random, in random order, and stay hidden from
    the user until they vote; a trial is an admin's side-by-side of the
    serving version (A) against one they chose (B), named from the start,
    and counts in no leaderboard and no dataset."""

    class Kind(models.TextChoices):
        ARENA = "arena", "Arena"
        TRIAL = "trial", "Side-by-side trial"

    class Outcome(models.TextChoices):
        A = "a", "A is better"
        B = "b", "B is better"
        TIE = "tie", "Tie"
        BOTH_BAD = "both_bad", "Both are bad"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="arena_matches")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.ARENA)
    conversation = models.OneToOneField("chat.Conversation", on_delete=models.CASCADE, related_name="arena_match")
    question = models.ForeignKey("chat.Message", on_delete=models.CASCADE, related_name="+")
    answer_a = models.ForeignKey("chat.Message", on_delete=models.CASCADE, related_name="+")
    answer_b = models.ForeignKey("chat.Message", on_delete=models.CASCADE, related_name="+")
    # Kept apart from the answers' own model_version, which the worker
    # rewrites with what it loaded: this is what the match asked for.
    version_a = models.ForeignKey("registry.ModelVersion", null=True, on_delete=models.SET_NULL, related_name="+")
    version_b = models.ForeignKey("registry.ModelVersion", null=True, on_delete=models.SET_NULL, related_name="+")
    outcome = models.CharField(max_length=8, choices=Outcome.choices, blank=True, default="")
    decided_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The preference pair the vote made (a decisive arena vote only).
    preference_task = models.ForeignKey(
        "labeling.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "decided_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_decided(self) -> bool:
        return bool(self.outcome)
