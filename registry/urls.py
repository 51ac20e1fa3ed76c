from django.urls import path

from . import views

app_name = "registry"

urlpatterns = [
    path("", views.model_version_list_view, name="versions"),
    path("<int:version_id>/lineage/", views.model_version_lineage_view, name="lineage"),
    path("<int:version_id>/promote/", views.model_version_promote_view, name="promote"),
]
