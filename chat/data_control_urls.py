"""The data controls, under /accounts/data/ (included from chatsite/urls.py):
reachable by an account waiting for approval too, which may delete itself;
and the user's reports of answers with their outcomes."""

from django.urls import path

from . import data_control_views as views
from .report_views import report_list_view

app_name = "data_controls"

urlpatterns = [
    path("export/", views.data_export_view, name="export"),
    path("import/", views.chat_imports_view, name="imports"),
    path("import/<int:import_id>/stop-sharing/", views.chat_import_stop_sharing_view, name="import-stop-sharing"),
    path("delete-chats/", views.chats_delete_view, name="delete-chats"),
    path("delete-account/", views.account_delete_view, name="delete-account"),
    path("reports/", report_list_view, name="reports"),
]
