"""Django's model backend, refusing while accounts/throttle.py makes this
account name from this address, or this address, wait."""
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from .throttle import client_address, login_retry_after


class ThrottledModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        name = username if username is not None else kwargs.get(get_user_model().USERNAME_FIELD)
        if login_retry_after(username=name, address=client_address(request)):
            # PermissionDenied stops `authenticate` at once, trying no other
            # backend; Django then sends `user_login_failed`.
            raise PermissionDenied
        return super().authenticate(request, username=username, password=password, **kwargs)
