from django.contrib import admin

from .models import PromotionRecord, TrainingJob


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "state", "created_by", "base_version", "snapshot", "created_at", "finished_at")
    list_filter = ("kind", "state")
    readonly_fields = [field.name for field in TrainingJob._meta.fields]

    def has_add_permission(self, request):
        # Jobs start from the new-job page, which queues them; a row added
        # here would never run. (`jobs.add_trainingjob` is the right to train.)
        return False


@admin.register(PromotionRecord)
class PromotionRecordAdmin(admin.ModelAdmin):
    """The promotion log: read-only, it is the audit trail."""

    list_display = ("created_at", "version", "previous", "promoted_by", "gate_passed", "evaluation")
    list_filter = ("gate_passed",)
    search_fields = ("version__name", "override_reason", "gate_reason")
    readonly_fields = [field.name for field in PromotionRecord._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
