from django import forms
from django.contrib import admin

from .models import ClassifierTraining, ModerationRule, ReviewDecision, ReviewItem, TemplateResponse


class ModerationRuleForm(forms.ModelForm):
    class Meta:
        model = ModerationRule
        fields = ["category", "kind", "pattern", "score", "enabled", "applies_to", "note"]
        help_texts = {
            "pattern": "An RE2 regular expression (Python's syntax without backreferences or look-arounds; "
            "\\w, \\b and \\d are ASCII), or one word or phrase per line. Matching ignores case and takes "
            "time linear in the message; listed words match whole words only."
        }


@admin.register(ModerationRule)
class ModerationRuleAdmin(admin.ModelAdmin):
    """Patterns are validated by ModerationRule.clean(), which the admin's
    model form runs: a rule RE2 cannot compile, or an overlong one, is
    refused with the reason."""

    form = ModerationRuleForm

    list_display = ("id", "category", "kind", "short_pattern", "score", "applies_to", "enabled", "updated_at")
    list_filter = ("category", "kind", "applies_to", "enabled")
    list_editable = ("enabled",)
    search_fields = ("pattern", "note")

    @admin.display(description="Pattern")
    def short_pattern(self, rule):
        text = " | ".join(rule.pattern.splitlines())
        return text if len(text) <= 80 else text[:79] + "…"


@admin.register(TemplateResponse)
class TemplateResponseAdmin(admin.ModelAdmin):
    list_display = ("category", "language", "text", "updated_at")
    list_filter = ("language", "category")
    search_fields = ("text",)


class ReviewDecisionInline(admin.TabularInline):
    model = ReviewDecision
    extra = 0
    can_delete = False
    readonly_fields = ("at", "reviewer", "decision", "status_before", "status_after", "note")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ReviewItem)
class ReviewItemAdmin(admin.ModelAdmin):
    """Read-only here: decisions go through the review page, which audits
    them; items are never deleted."""

    list_display = ("id", "created_at", "origin", "direction", "top_category", "layer", "status", "reviewer")
    list_filter = ("status", "origin", "direction", "top_category", "layer")
    search_fields = ("text", "note")
    list_select_related = ("reviewer",)
    inlines = [ReviewDecisionInline]
    readonly_fields = [field.name for field in ReviewItem._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the evidence and the classifier's labels


@admin.register(ClassifierTraining)
class ClassifierTrainingAdmin(admin.ModelAdmin):
    """Read-only here: trainings start from the classifier page, which queues them."""

    list_display = ("id", "state", "requested_by", "created_at", "finished_at", "example_count", "model_version")
    list_filter = ("state",)
    list_select_related = ("requested_by", "model_version")
    readonly_fields = [field.name for field in ClassifierTraining._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
