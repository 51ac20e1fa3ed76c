from django.contrib import admin

from .models import ModelVersion


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "source", "is_serving", "created_at")
    list_filter = ("kind", "source", "is_serving")
    readonly_fields = ("is_serving",)
