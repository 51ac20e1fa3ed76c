"""The data controls, under /accounts/data/ (included from chatsite/urls.py):
reachable by an account waiting for approval too, which may delete itself."""

from django.urls import path

from . import data_control_views as views

app_name = "data_controls"

urlpatterns = [
    path("export/", views.data_export_view, name="export"),
    path("delete-chats/", views.chats_delete_view, name="delete-chats"),
    path("delete-account/", views.account_delete_view, name="delete-account"),
]
