"""Chat's rows in Django's admin, for looking things up. What users made is
not edited here: messages and feedback are read-only (an answer's text,
status and finish_reason are what the model and moderation produced; the
reasons of a thumbs-down also travel to the labeling pool), and a
conversation's settings and tree belong to chat's services, which validate
them (chat.params) and keep what moderation judged (a changed system
prompt would be read unjudged). Only a conversation's title may be changed.
Nothing is added or deleted here: deleting goes through the data controls
and the retention purge, which keep what moderators' review items need."""

from django.contrib import admin

from .models import ChatDefaults, ChatImport, Conversation, Feedback, Message, SettingsPreset


class NoAddOrDeleteAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(NoAddOrDeleteAdmin):
    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Conversation)
class ConversationAdmin(NoAddOrDeleteAdmin):
    list_display = ("id", "title", "owner", "updated_at", "created_at", "deleted_at")
    list_filter = (("deleted_at", admin.EmptyFieldListFilter), "created_at")
    list_select_related = ("owner",)
    search_fields = ("title", "owner__username")
    raw_id_fields = ("owner", "current_leaf")
    readonly_fields = (
        "owner",
        "system_prompt",
        "temperature",
        "top_p",
        "max_new_tokens",
        "current_leaf",
        "created_at",
        "updated_at",
        "deleted_at",
    )
    date_hierarchy = "updated_at"


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ("id", "conversation", "role", "status", "finish_reason", "model_version", "created_at")
    list_filter = ("role", "status", "finish_reason", "created_at")
    list_select_related = ("conversation", "model_version")
    search_fields = ("=id", "content", "conversation__title", "conversation__owner__username")
    raw_id_fields = ("conversation", "parent", "model_version")
    date_hierarchy = "created_at"


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdmin):
    list_display = ("id", "rating", "reasons", "user", "message", "created_at")
    list_filter = ("rating", "created_at")
    list_select_related = ("user", "message")
    search_fields = ("comment", "user__username", "=message__id")
    raw_id_fields = ("message", "user")
    date_hierarchy = "created_at"


@admin.register(ChatDefaults)
class ChatDefaultsAdmin(ReadOnlyAdmin):
    """A user's own settings, set from the chat page (chat.presets validates
    them), so read-only here."""

    list_display = ("user", "temperature", "top_p", "max_new_tokens")
    search_fields = ("user__username",)
    raw_id_fields = ("user",)


@admin.register(SettingsPreset)
class SettingsPresetAdmin(ReadOnlyAdmin):
    list_display = ("name", "owner", "temperature", "top_p", "max_new_tokens", "created_at")
    search_fields = ("name", "owner__username")
    raw_id_fields = ("owner",)


@admin.register(ChatImport)
class ChatImportAdmin(ReadOnlyAdmin):
    """A user's uploads of other apps' exports, for looking up why one
    failed; chat.imports_service runs them, so read-only here."""

    list_display = ("id", "owner", "format", "file_name", "state", "shares_prompts", "created_at", "finished_at")
    list_filter = ("format", "state", "shares_prompts")
    list_select_related = ("owner",)
    search_fields = ("file_name", "owner__username", "error")
    raw_id_fields = ("owner",)
    date_hierarchy = "created_at"
