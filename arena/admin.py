from django.contrib import admin

from .models import ArenaMatch


@admin.register(ArenaMatch)
class ArenaMatchAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "user", "version_a", "version_b", "outcome", "created_at", "decided_at")
    list_filter = ("kind", "outcome")
    raw_id_fields = ("user", "conversation", "question", "answer_a", "answer_b", "preference_task")
