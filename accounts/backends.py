"""Django's model backend, refusing while accounts/throttle.py makes this
account name from this address, or this address, wait, and counting the
passwords it finds wrong.

Only a checked password counts: a refused attempt learns nothing, and
counting it would let anybody hammering with made-up account names fill
Redis with counts."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from .throttle import client_address, login_failure_record, login_retry_after


class ThrottledModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        name = username if username is not None else kwargs.get(get_user_model().USERNAME_FIELD)
        address = client_address(request)
        if login_retry_after(username=name, address=address):
            # PermissionDenied stops `authenticate` at once, trying no other
            # backend.
            raise PermissionDenied
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None and name is not None and password is not None:
            login_failure_record(username=name, address=address)
        return user
