from django.contrib import admin

from .models import TrainingJob


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "state", "created_by", "base_version", "snapshot", "created_at", "finished_at")
    list_filter = ("kind", "state")
    readonly_fields = [field.name for field in TrainingJob._meta.fields]

    def has_add_permission(self, request):
        # Jobs start from the new-job page, which queues them; a row added
        # here would never run. (`jobs.add_trainingjob` is the right to train.)
        return False
