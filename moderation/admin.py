from django.contrib import admin

from .models import ModerationRule, ReviewDecision, ReviewItem, TemplateResponse


@admin.register(ModerationRule)
class ModerationRuleAdmin(admin.ModelAdmin):
    """Patterns are validated by ModerationRule.clean(), which the admin's
    model form runs: a broken regex is refused with the compiler's message."""

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
    readonly_fields = ("reviewer", "decision", "note", "at")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ReviewItem)
class ReviewItemAdmin(admin.ModelAdmin):
    """Read-only here: decisions go through the review page, which audits them."""

    list_display = ("id", "created_at", "direction", "top_category", "layer", "status", "reviewer")
    list_filter = ("status", "direction", "top_category", "layer")
    search_fields = ("text", "note")
    list_select_related = ("reviewer",)
    inlines = [ReviewDecisionInline]
    readonly_fields = [field.name for field in ReviewItem._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
