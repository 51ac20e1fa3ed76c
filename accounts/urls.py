from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "accounts"

# Sign-in, sign-up, email confirmation, passwords and single sign-on are
# allauth's (chatsite/urls.py mounts allauth.urls under /accounts/ after
# these), in the site's look (templates/account/, templates/socialaccount/).
# The addresses the password pages had before allauth send people on.
urlpatterns = [
    path("signup/", views.SignupView.as_view(), name="signup"),
    path("pending/", views.pending_view, name="pending"),
    path("settings/", views.user_settings_view, name="settings"),
    path("theme/", views.theme_view, name="theme"),
    path("users/", views.user_list_view, name="users"),
    path("users/<int:user_id>/", views.user_update_view, name="user-update"),
    path("password/", RedirectView.as_view(pattern_name="account_change_password"), name="password-change"),
    path("password-reset/", RedirectView.as_view(pattern_name="account_reset_password"), name="password-reset"),
]
