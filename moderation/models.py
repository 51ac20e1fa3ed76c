from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from . import rule_syntax
from .categories import CATEGORIES, CATEGORY_CHOICES


class ModerationRule(models.Model):
    """An admin's rule for the rules layer, added to the built-in ones.

    Scores within a category combine as independent evidence, so a word list
    with a low score flags only when several of its words appear.
    """

    class Kind(models.TextChoices):
        REGEX = rule_syntax.REGEX, "Regular expression"
        WORDS = rule_syntax.WORDS, "Word list (one word or phrase per line)"

    class AppliesTo(models.TextChoices):
        INPUT = rule_syntax.INPUT, "User messages"
        OUTPUT = rule_syntax.OUTPUT, "Assistant answers"
        BOTH = rule_syntax.BOTH, "Both"

    category = models.CharField(max_length=32, choices=CATEGORY_CHOICES)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.WORDS)
    pattern = models.TextField(
        help_text="A Python regular expression, or one word or phrase per line. Matching ignores case; "
        "listed words match whole words only."
    )
    score = models.FloatField(
        default=1.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="0 to 1. Each distinct listed word found counts as one more hit: 1-(1-score)^hits.",
    )
    enabled = models.BooleanField(default=True)
    applies_to = models.CharField(max_length=8, choices=AppliesTo.choices, default=AppliesTo.BOTH)
    note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category", "id"]

    def __str__(self):
        return f"{self.category}: {self.get_kind_display()} #{self.pk}"

    def clean(self):
        # The pipeline skips a broken rule; this catches it while an admin
        # can still fix it.
        try:
            rule_syntax.compile_pattern(self.kind, self.pattern)
        except ValueError as error:
            raise ValidationError({"pattern": str(error)}) from None


class TemplateResponse(models.Model):
    """What the assistant says instead of a flagged exchange, per category
    and language; the built-in texts in `default_responses` apply where no
    row exists."""

    category = models.CharField(max_length=32, choices=CATEGORY_CHOICES)
    language = models.CharField(max_length=16, default="en")
    text = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category", "language"]
        constraints = [
            models.UniqueConstraint(fields=["category", "language"], name="one_template_per_category_language")
        ]

    def __str__(self):
        return f"{self.category} ({self.language})"


class ReviewItem(models.Model):
    """One flagged text waiting for, or carrying, a moderator's judgement.
    `text` keeps the text as moderation saw it: for an answer retracted
    mid-stream the message itself holds the template response instead."""

    class Direction(models.TextChoices):
        INPUT = rule_syntax.INPUT, "User message"
        OUTPUT = rule_syntax.OUTPUT, "Assistant answer"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CONFIRMED = "confirmed", "Confirmed"
        OVERTURNED = "overturned", "Overturned"

    class Origin(models.TextChoices):
        AUTOMATIC = "automatic", "Flagged automatically"
        REPORT = "report", "Reported by a user"
        ANNOTATION = "annotation", "Flagged by annotators"

    # A chat message, or (annotators' flags) a labeling candidate answer,
    # while it exists: the item outlives both, since `text` and `verdict`
    # are the evidence and the classifier's labels, and a user deleting a
    # conversation must not erase them.
    message = models.ForeignKey(
        "chat.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="review_items"
    )
    candidate = models.ForeignKey(
        "labeling.Candidate", null=True, blank=True, on_delete=models.SET_NULL, related_name="review_items"
    )
    # A chat item's conversation and its owner, as plain ids that stay once
    # the rows are gone (no database constraint, nothing cascades); joined
    # while they exist, for the queue's context.
    conversation = models.ForeignKey(
        "chat.Conversation",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    direction = models.CharField(max_length=8, choices=Direction.choices)
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.AUTOMATIC)
    # A report: who sent it and why. Annotators' items say why, and an
    # annotator's answer the pipeline flagged who wrote it; other automatic
    # items have neither.
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    report_reason = models.TextField(blank=True, default="")
    text = models.TextField()
    verdict = models.JSONField()
    layer = models.CharField(max_length=32, blank=True, default="")
    top_category = models.CharField(max_length=32, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "-created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "reported_by"],
                condition=Q(origin="report", status="open"),
                name="one_open_report_per_message_and_user",
            ),
            models.UniqueConstraint(
                fields=["candidate"],
                condition=Q(origin="annotation", status="open"),
                name="one_open_annotation_item_per_candidate",
            ),
        ]

    def __str__(self):
        return f"Review #{self.pk} ({self.status})"

    def flagged_categories(self) -> list[str]:
        """The categories the verdict flagged, in taxonomy order."""
        flagged = self.verdict.get("categories", {})
        return [category for category in CATEGORIES if flagged.get(category)]

    def score_rows(self) -> list[tuple[str, float, bool]]:
        """(category, score, flagged), highest score first, for display."""
        scores = self.verdict.get("category_scores", {})
        flagged = self.verdict.get("categories", {})
        rows = [(category, score, bool(flagged.get(category))) for category, score in scores.items()]
        return sorted(rows, key=lambda row: row[1], reverse=True)

    def top_scores(self, limit: int = 3) -> list[tuple[str, float, bool]]:
        """The few highest non-zero scores, for the queue's one-line summary."""
        return [row for row in self.score_rows() if row[1] > 0][:limit]


class ReviewDecision(models.Model):
    """The audit trail: every confirm or overturn, including changes of mind:
    who (`reviewer`), when (`at`), what (`decision`, `note`), and the item's
    status before and after."""

    class Decision(models.TextChoices):
        CONFIRM = "confirm", "Confirm"
        OVERTURN = "overturn", "Overturn"

    # The audit trail is never deleted with its item: an item with decisions cannot be deleted.
    item = models.ForeignKey(ReviewItem, on_delete=models.PROTECT, related_name="decisions")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    decision = models.CharField(max_length=16, choices=Decision.choices)
    note = models.TextField(blank=True, default="")
    status_before = models.CharField(max_length=16, choices=ReviewItem.Status.choices)
    status_after = models.CharField(max_length=16, choices=ReviewItem.Status.choices)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.decision} of review #{self.item_id}"


class ClassifierTraining(models.Model):
    """One retraining of the embedding classifier's heads from the labelled
    data (moderators' decisions plus the seed set). A run that succeeds
    registers its heads as a `registry.ModelVersion`, which serves only
    once an admin promotes it."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    ACTIVE_STATES = (State.QUEUED, State.RUNNING)
    # Queued or running longer than this: its worker was killed or its task
    # message lost. It no longer blocks a new training.
    STALE_AFTER = timedelta(hours=2)

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    example_count = models.PositiveIntegerField(null=True, blank=True)
    # What moderation.retrain.retrain_classifier returned: cross-validated figures.
    figures = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    model_version = models.ForeignKey(
        "registry.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Classifier training #{self.pk} ({self.state})"
