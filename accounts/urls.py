from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("signup/", views.signup_view, name="signup"),
    path("pending/", views.pending_view, name="pending"),
    path("settings/", views.user_settings_view, name="settings"),
    path("users/", views.user_list_view, name="users"),
    path("users/<int:user_id>/", views.user_update_view, name="user-update"),
    path("password/", auth_views.PasswordChangeView.as_view(success_url="/"), name="password-change"),
]
