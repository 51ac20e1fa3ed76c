from django.conf import settings
from django.db import models


class EvaluationSet(models.Model):
    """A named, immutable set of prompts that models are compared on.

    Its prompts are stored with it, with their hash: nothing done later to
    the snapshot or file it came from changes what it holds. Training never
    sees them: every export a training job trains on drops the prompts of
    every evaluation set (selectors.held_out_prompt_keys), so a version
    cannot win on prompts it learnt. A red-team set holds prompts that try
    to draw out what output moderation should catch.
    """

    class Purpose(models.TextChoices):
        GENERAL = "general", "Held-out prompts"
        RED_TEAM = "red_team", "Red team"

    class Source(models.TextChoices):
        SNAPSHOT = "snapshot", "From a dataset snapshot"
        IMPORT = "import", "Imported file"

    name = models.CharField(max_length=100, unique=True)
    purpose = models.CharField(max_length=16, choices=Purpose.choices, default=Purpose.GENERAL)
    source = models.CharField(max_length=16, choices=Source.choices)
    snapshot = models.ForeignKey(
        "labeling.DatasetSnapshot", null=True, blank=True, on_delete=models.PROTECT, related_name="evaluation_sets"
    )
    description = models.TextField(blank=True, default="")
    # A list of prompts, each a list of {"role", "content"} messages ending with a user turn.
    prompts = models.JSONField()
    prompt_count = models.PositiveIntegerField()
    content_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="evaluation_sets"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prompt_count} prompts)"
