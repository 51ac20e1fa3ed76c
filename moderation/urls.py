from django.urls import path

from . import views

app_name = "moderation"

urlpatterns = [
    path("review/", views.review_list_view, name="review-list"),
    path("review/<int:item_id>/", views.review_detail_view, name="review-detail"),
]
