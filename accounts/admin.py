from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import User


@admin.register(User)
class ChatUserAdmin(UserAdmin):
    list_display = ("username", "email", "role", "is_approved", "arena_enabled", "is_active", "date_joined")
    list_filter = ("role", "is_approved", "arena_enabled", "shares_chat_data", "is_active")
    fieldsets = UserAdmin.fieldsets + (
        ("Access", {"fields": ("role", "is_approved", "arena_enabled", "daily_token_quota")}),
        ("Consent", {"fields": ("shares_chat_data",)}),
    )
