from django.urls import path

from . import views

# Included at "metrics" (chatsite/urls.py); no namespace, so the URL's name is "metrics".
urlpatterns = [path("", views.metrics_view, name="metrics")]
