from django.urls import path

from . import version_views

app_name = "versions"

urlpatterns = [
    path("", version_views.model_version_list_view, name="list"),
    path("<int:version_id>/lineage/", version_views.model_version_lineage_view, name="lineage"),
    path("<int:version_id>/promote/", version_views.model_version_promote_view, name="promote"),
    path("<int:version_id>/chat/", version_views.model_version_chat_view, name="chat"),
]
