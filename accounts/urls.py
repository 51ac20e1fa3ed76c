from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import views

app_name = "accounts"

# Django's own password views, their templates under templates/registration/
# and their links inside this namespace. The reset email goes through
# settings.EMAIL_BACKEND (the console unless EMAIL_BACKEND says otherwise).
urlpatterns = [
    path("signup/", views.signup_view, name="signup"),
    path("pending/", views.pending_view, name="pending"),
    path("settings/", views.user_settings_view, name="settings"),
    path("users/", views.user_list_view, name="users"),
    path("users/<int:user_id>/", views.user_update_view, name="user-update"),
    path(
        "password/",
        auth_views.PasswordChangeView.as_view(success_url=reverse_lazy("accounts:password-change-done")),
        name="password-change",
    ),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password-change-done"),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(
            success_url=reverse_lazy("accounts:password-reset-done"),
            email_template_name="registration/password_reset_email.txt",
        ),
        name="password-reset",
    ),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password-reset-done"),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(success_url=reverse_lazy("accounts:password-reset-complete")),
        name="password-reset-confirm",
    ),
    path("password-reset/complete/", auth_views.PasswordResetCompleteView.as_view(), name="password-reset-complete"),
]
