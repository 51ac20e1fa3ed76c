from django.urls import path

from .feedback_views import feedback_view

app_name = "feedback"

urlpatterns = [path("", feedback_view, name="list")]
