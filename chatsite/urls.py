from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts.views import LoginView

from .health import healthz_view, readiness_view

urlpatterns = [
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("accounts.allauth_urls")),
    path("accounts/data/", include("chat.data_control_urls")),
    path("moderation/", include("review.urls")),
    path("jobs/", include("jobs.urls")),
    path("models/", include("jobs.version_urls")),
    path("arena/", include("arena.urls")),
    path("labeling/", include("labeling.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz_view, name="healthz"),
    path("healthz/ready", readiness_view, name="readiness"),
    path("metrics", include("metrics.urls")),
    path("usage/", include("metrics.usage_urls")),
    path("feedback/", include("metrics.feedback_urls")),
    path("", include("openai_api.urls")),
    path("", include("chat.urls")),
]

handler403 = "accounts.views.permission_denied_view"
handler500 = "core.unavailable.server_error_view"
