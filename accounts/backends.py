"""allauth's backend (an account name or an email address, and its
password), refusing while accounts/throttle.py makes this account name from
this address, or this address, wait, and counting the passwords it finds
wrong.

Only a checked password counts: a refused attempt learns nothing, and
counting it would let anybody hammering with made-up account names fill
Redis with counts."""

from allauth.account.auth_backends import AuthenticationBackend
from django.core.exceptions import PermissionDenied

from .throttle import client_address, login_failure_record, login_retry_after


class ThrottledAuthenticationBackend(AuthenticationBackend):
    def authenticate(self, request, **credentials):
        # allauth passes what was typed as `username` too when it looks like
        # an email address, so one count covers both ways of naming an account.
        name = credentials.get("username") or credentials.get("email")
        address = client_address(request)
        if login_retry_after(username=name, address=address):
            # PermissionDenied stops `authenticate` at once, trying no other
            # backend.
            raise PermissionDenied
        user = super().authenticate(request, **credentials)
        if user is None and name is not None and credentials.get("password") is not None:
            login_failure_record(username=name, address=address)
        return user
