"""Read-only: imports, submissions and snapshots go through the services
(and their commands), which keep the pool's invariants; a snapshot is never
edited, and nothing is deleted here, since deleting a prompt, task or
ranking would cascade into past consensus and the datasets made from it."""

from django.contrib import admin

from .models import (
    AnnotatorStats,
    Assignment,
    Candidate,
    CandidateGeneration,
    Consensus,
    DatasetSnapshot,
    Demonstration,
    Guidelines,
    Prompt,
    PromptImport,
    Ranking,
    Task,
    TaskCandidate,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PromptImport)
class PromptImportAdmin(ReadOnlyAdmin):
    list_display = ("id", "format", "file_name", "counts", "created_by", "created_at")
    list_filter = ("format",)


@admin.register(Prompt)
class PromptAdmin(ReadOnlyAdmin):
    list_display = ("id", "__str__", "source", "source_ref", "author", "created_at")
    list_filter = ("source",)
    search_fields = ("source_ref", "content_hash")


@admin.register(Candidate)
class CandidateAdmin(ReadOnlyAdmin):
    list_display = ("id", "prompt", "origin", "model_version", "created_at")
    list_filter = ("origin",)
    raw_id_fields = ("prompt", "demonstration")


class TaskCandidateInline(admin.TabularInline):
    model = TaskCandidate
    extra = 0
    raw_id_fields = ("candidate",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Task)
class TaskAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "prompt", "required_annotations", "prompt_import", "created_at")
    list_filter = ("kind",)
    inlines = [TaskCandidateInline]


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ("id", "task", "annotator", "state", "leased_at", "lease_expires_at", "skip_reason")
    list_filter = ("state",)


@admin.register(Ranking)
class RankingAdmin(ReadOnlyAdmin):
    list_display = ("id", "assignment", "none_acceptable", "agreement", "created_at")


@admin.register(Demonstration)
class DemonstrationAdmin(ReadOnlyAdmin):
    list_display = ("id", "prompt", "author", "created_at")
    raw_id_fields = ("prompt", "assignment")


@admin.register(Consensus)
class ConsensusAdmin(ReadOnlyAdmin):
    list_display = ("task", "method", "agreement", "num_rankings", "none_acceptable", "updated_at")
    list_filter = ("method", "none_acceptable")


@admin.register(AnnotatorStats)
class AnnotatorStatsAdmin(ReadOnlyAdmin):
    list_display = ("annotator", "agreement", "weight", "num_rankings", "updated_at")


@admin.register(DatasetSnapshot)
class DatasetSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("name", "version", "kind", "item_count", "content_hash", "created_by", "created_at")
    list_filter = ("kind",)


@admin.register(CandidateGeneration)
class CandidateGenerationAdmin(ReadOnlyAdmin):
    list_display = ("id", "prompt", "k", "state", "task", "created_by", "created_at", "finished_at")
    list_filter = ("state",)
    raw_id_fields = ("prompt", "task")


@admin.register(Guidelines)
class GuidelinesAdmin(ReadOnlyAdmin):
    """Admins edit the text at /labeling/admin/guidelines/, through the service."""

    list_display = ("kind", "updated_by", "updated_at")
