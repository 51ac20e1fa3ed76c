from django.urls import path

from .usage_views import usage_dashboard_view

app_name = "usage"

urlpatterns = [path("", usage_dashboard_view, name="dashboard")]
