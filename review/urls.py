from django.urls import path

from . import views

app_name = "review"

urlpatterns = [
    path("review/", views.review_list_view, name="review-list"),
    path("review/decide/", views.review_items_decide_view, name="review-bulk-decide"),
    path("review/<int:item_id>/", views.review_detail_view, name="review-detail"),
    path("review/<int:item_id>/decide/", views.review_item_decide_view, name="review-decide"),
    path("dashboard/", views.dashboard_view, name="dashboard"),
    path("classifier/", views.classifier_view, name="classifier"),
    path("classifier/retrain/", views.classifier_retrain_view, name="classifier-retrain"),
    path(
        "classifier/versions/<int:version_id>/promote/",
        views.classifier_version_promote_view,
        name="classifier-promote",
    ),
]
