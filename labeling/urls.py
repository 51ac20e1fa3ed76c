from django.urls import path

from . import gold_views, hub_views, label_views, views

app_name = "labeling"

urlpatterns = [
    path("", views.labeling_home_view, name="home"),
    path("prompts/", views.prompt_write_view, name="prompt-write"),
    path("<str:kind>/next/", views.task_next_view, name="next"),
    path("assignments/<int:assignment_id>/", views.assignment_view, name="assignment"),
    path(
        "assignments/<int:assignment_id>/demonstration/", views.demonstration_submit_view, name="demonstration-submit"
    ),
    path("assignments/<int:assignment_id>/ranking/", views.ranking_submit_view, name="ranking-submit"),
    path("assignments/<int:assignment_id>/labels/", label_views.label_submit_view, name="label-submit"),
    path("assignments/<int:assignment_id>/user-reply/", label_views.user_reply_submit_view, name="user-reply-submit"),
    path("assignments/<int:assignment_id>/skip/", views.assignment_skip_view, name="skip"),
    path("preview/", views.markdown_preview_view, name="preview"),
    path("admin/prompts/", views.prompt_pool_view, name="admin-prompts"),
    path("admin/prompts/<int:prompt_id>/", views.prompt_item_view, name="admin-prompt"),
    path("admin/prompts/import/", views.prompt_import_view, name="admin-import"),
    path("admin/generations/", views.candidate_generation_create_view, name="admin-generate"),
    path("admin/demonstration-tasks/", views.demonstration_tasks_create_view, name="admin-demonstration-tasks"),
    path("admin/snapshots/", views.snapshot_list_view, name="admin-snapshots"),
    path("admin/snapshots/create/", views.snapshot_create_view, name="admin-snapshot-create"),
    path(
        "admin/snapshots/<int:snapshot_id>/<str:fmt>.jsonl",
        views.snapshot_download_view,
        name="admin-snapshot-download",
    ),
    path(
        "admin/snapshots/<int:snapshot_id>/<str:fmt>-hf.zip",
        hub_views.snapshot_hub_download_view,
        name="admin-snapshot-hub-download",
    ),
    path("admin/answer-tasks/", label_views.answer_tasks_view, name="admin-answer-tasks"),
    path("admin/answer-tasks/create/", label_views.answer_tasks_create_view, name="admin-answer-tasks-create"),
    path("admin/annotators/", views.annotator_quality_view, name="admin-annotators"),
    path("admin/annotators/<int:user_id>/clear-hold/", gold_views.gold_hold_clear_view, name="admin-gold-clear"),
    path("admin/gold/", gold_views.gold_list_view, name="admin-gold"),
    path("admin/gold/mark/", gold_views.gold_mark_view, name="admin-gold-mark"),
    path("admin/gold/mark-label/", gold_views.gold_label_mark_view, name="admin-gold-label-mark"),
    path("admin/gold/<int:gold_id>/active/", gold_views.gold_active_view, name="admin-gold-active"),
    path("admin/flagged/", views.flagged_items_view, name="admin-flagged"),
    path("admin/guidelines/", views.guidelines_edit_view, name="admin-guidelines"),
]
