from django.contrib import admin

from .models import EvaluationSet


@admin.register(EvaluationSet)
class EvaluationSetAdmin(admin.ModelAdmin):
    """Read-only: a set is immutable once made (evaluations refer to it)."""

    list_display = ("name", "purpose", "source", "prompt_count", "created_by", "created_at")
    list_filter = ("purpose", "source")
    search_fields = ("name", "description")
    readonly_fields = [field.name for field in EvaluationSet._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
