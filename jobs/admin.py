from django.contrib import admin

from .models import TrainingJob


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "state", "created_by", "base_version", "snapshot", "created_at", "finished_at")
    list_filter = ("kind", "state")
    readonly_fields = [field.name for field in TrainingJob._meta.fields]
