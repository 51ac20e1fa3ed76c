from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from .params import PRESET_NAME_MAX_CHARS


class Conversation(models.Model):
    """A tree of messages owned by one user. `current_leaf` is the end of
    the branch the user is looking at; the page shows the path to it. One
    with `deleted_at` set is gone for its owner (chat.access and
    chat.selectors hide it) but kept as moderation's evidence until purged."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations")
    title = models.CharField(max_length=200, default="New chat")
    system_prompt = models.TextField(blank=True, default="")
    temperature = models.FloatField(default=0.7)
    top_p = models.FloatField(default=0.9)
    max_new_tokens = models.PositiveIntegerField(default=512)
    # The policy version picked for this conversation's answers; null means
    # whatever version is serving when each answer is written.
    model_version = models.ForeignKey(
        "registry.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    current_leaf = models.ForeignKey("Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The upload it came from, for a conversation imported from another app
    # (chat.imports): its times are the original ones, its turns the export's.
    chat_import = models.ForeignKey(
        "ChatImport", null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    # Deleting hides the conversation from its owner at once; the rows stay
    # for CONVERSATION_RETENTION_DAYS, and as long as a moderator's open or
    # confirmed review item needs them (services.conversations_purge).
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [
            models.Index(fields=["owner", "-updated_at"]),
            models.Index(
                fields=["deleted_at"], name="chat_conversation_deleted", condition=models.Q(deleted_at__isnull=False)
            ),
        ]

    def __str__(self):
        return self.title


class MessageStatus(models.TextChoices):
    # user messages
    PENDING = "pending", "Waiting for moderation"
    ACCEPTED = "accepted", "Accepted"
    FLAGGED = "flagged", "Flagged"
    # assistant messages
    QUEUED = "queued", "Queued"
    STREAMING = "streaming", "Streaming"
    COMPLETE = "complete", "Complete"
    STOPPED = "stopped", "Stopped"
    INTERRUPTED = "interrupted", "Interrupted"
    MODERATED = "moderated", "Replaced by moderation"
    FAILED = "failed", "Failed"


ACTIVE_STATUSES = (MessageStatus.PENDING, MessageStatus.QUEUED, MessageStatus.STREAMING)
FINAL_ASSISTANT_STATUSES = (
    MessageStatus.COMPLETE,
    MessageStatus.STOPPED,
    MessageStatus.INTERRUPTED,
    MessageStatus.MODERATED,
    MessageStatus.FAILED,
)


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.TextField(blank=True, default="")
    status = models.CharField(max_length=16, choices=MessageStatus.choices)
    error = models.CharField(max_length=500, blank=True, default="")
    # What moderation said of this text: Verdict.as_dict().
    moderation = models.JSONField(null=True, blank=True)
    # Assistant messages: how the answer was made.
    model_version = models.ForeignKey(
        "registry.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    model_name = models.CharField(max_length=200, blank=True, default="")
    sampling = models.JSONField(default=dict, blank=True)
    # Why the model stopped writing (engine.backends.GenerationStream):
    # "length" when it reached max_new_tokens, so the answer is cut off and
    # can be continued; "stop" when it ended its turn; "cancelled" when
    # stopped; empty while it is written, or when no model wrote it.
    finish_reason = models.CharField(max_length=16, blank=True, default="")
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    ttft_ms = models.FloatField(null=True, blank=True)
    tokens_per_second = models.FloatField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["conversation", "status"]),
            # Housekeeping looks for unfinished work every few seconds (chat/dispatch.py).
            models.Index(
                fields=["created_at"],
                name="chat_message_unfinished",
                condition=models.Q(status__in=["pending", "queued"]),
            ),
            # Beat's reaper looks for streaming answers every two seconds (chat/services.py).
            models.Index(
                fields=["started_at"],
                name="chat_message_streaming",
                condition=models.Q(status="streaming"),
            ),
        ]

    def __str__(self):
        return f"{self.role} #{self.pk} ({self.status})"


class Feedback(models.Model):
    """A thumbs up or down on one answer, kept for labeling and training."""

    class Rating(models.IntegerChoices):
        UP = 1, "Thumbs up"
        DOWN = -1, "Thumbs down"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="feedback")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    rating = models.SmallIntegerField(choices=Rating.choices)
    reasons = models.JSONField(default=list, blank=True)
    comment = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "user"], name="one_feedback_per_user")]

    def __str__(self):
        return f"{self.get_rating_display()} on message #{self.message_id} by user #{self.user_id}"


# Open WebUI's reasons, so the data lines up with what people expect.
FEEDBACK_REASONS = {
    Feedback.Rating.UP: [
        "Accurate information",
        "Followed instructions perfectly",
        "Showcased creativity",
        "Positive attitude",
        "Attention to detail",
        "Thorough explanation",
        "Other",
    ],
    Feedback.Rating.DOWN: [
        "Don't like the style",
        "Too verbose",
        "Not helpful",
        "Not factually correct",
        "Didn't fully follow instructions",
        "Refused when it shouldn't have",
        "Being lazy",
        "Other",
    ],
}


class GenerationSettings(models.Model):
    """What a chat's answers are made with, kept apart from any one
    conversation (chat.params.GENERATION_SETTINGS; validated there)."""

    system_prompt = models.TextField(blank=True, default="")
    temperature = models.FloatField()
    top_p = models.FloatField()
    max_new_tokens = models.PositiveIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class ChatDefaults(GenerationSettings):
    """The settings each new chat of the user starts from (ChatGPT's custom
    instructions, Open WebUI's default parameters); a conversation copies
    them when it is created and keeps its own from then on. No row: the
    site's GENERATION_DEFAULTS."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_defaults")

    def __str__(self):
        return f"Chat defaults of user #{self.user_id}"


class SettingsPreset(GenerationSettings):
    """A named set of settings the user saved, to pick for any chat."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_presets")
    name = models.CharField(max_length=PRESET_NAME_MAX_CHARS)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = [Lower("name"), "id"]
        constraints = [
            # "Coder" and "coder" would be two entries no one can tell apart in the picker.
            models.UniqueConstraint("owner", Lower("name"), name="one_preset_name_per_owner"),
        ]

    def __str__(self):
        return self.name


class ChatImport(models.Model):
    """One upload of another app's chat export (chat.imports): who sent
    which file, and what came of it. Kept after the file is gone, as the
    user's record of their imports; `shares_prompts` is their consent that
    the imported prompts join the labeling pool (off unless ticked)."""

    class Format(models.TextChoices):
        CHATGPT = "chatgpt", "ChatGPT export"
        OPEN_WEBUI = "open_webui", "Open WebUI export"

    class State(models.TextChoices):
        QUEUED = "queued", "Waiting to import"
        IMPORTING = "importing", "Importing"
        MODERATING = "moderating", "Checking with moderation"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_imports")
    format = models.CharField(max_length=16, choices=Format.choices)
    file_name = models.CharField(max_length=255)
    file_size = models.PositiveBigIntegerField()
    shares_prompts = models.BooleanField(default=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    error = models.CharField(max_length=500, blank=True, default="")
    # conversations, messages, skipped ({what: how many}), moderated,
    # flagged, prompts_shared: chat.imports_service fills them as it goes.
    counts = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at"])]
        constraints = [
            # One unfinished import per user, held by the database so two
            # uploads at the same moment cannot both start one.
            models.UniqueConstraint(
                fields=["owner"], condition=models.Q(finished_at__isnull=True), name="chat_import_one_unfinished"
            )
        ]

    def __str__(self):
        return f"{self.get_format_display()}: {self.file_name}"
