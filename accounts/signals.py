"""Counts sign-ins for the throttle (connected in AccountsConfig.ready)."""
from django.contrib.auth import get_user_model

from .throttle import client_address, login_failure_record, login_success_record


def on_login_failed(sender, credentials, request=None, **kwargs):
    username = credentials.get("username", credentials.get(get_user_model().USERNAME_FIELD))
    login_failure_record(username=username, address=client_address(request))


def on_logged_in(sender, request, user, **kwargs):
    login_success_record(username=user.get_username(), address=client_address(request))
