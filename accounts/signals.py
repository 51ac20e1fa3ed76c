"""Clears the sign-in throttle's count on success (connected in
AccountsConfig.ready); accounts/backends.py counts the failures."""

from .throttle import client_address, login_success_record


def on_logged_in(sender, request, user, **kwargs):
    login_success_record(username=user.get_username(), address=client_address(request))
