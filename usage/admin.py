from django.contrib import admin

from .models import DailyUsage


@admin.register(DailyUsage)
class DailyUsageAdmin(admin.ModelAdmin):
    list_display = ("day", "user", "answers", "prompt_tokens", "completion_tokens")
    list_filter = ("day",)
    search_fields = ("user__username",)
    readonly_fields = ("user", "day", "answers", "prompt_tokens", "completion_tokens")
