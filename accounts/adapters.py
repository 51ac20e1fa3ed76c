"""django-allauth's hooks: the site's rules for sign-in, sign-up and single
sign-on, kept here rather than in forked allauth views.

- Sign-up is open while ACCOUNTS_ALLOW_SIGNUP says so, for passwords and
  providers alike.
- Every new account, however it signs up, starts as a plain user, and
  waits for an admin while ACCOUNTS_REQUIRE_APPROVAL is on (the waiting
  page, accounts.middleware.ApprovalRequiredMiddleware). A single sign-on
  account whose provider vouches for an email address in one of
  ACCOUNTS_AUTO_APPROVE_EMAIL_DOMAINS skips the wait.
- Sign-ins are limited by accounts/throttle.py alone (the backend,
  accounts/backends.py, and the login page's 429, accounts.views.LoginView);
  allauth's own sign-in limits are off (chatsite/settings.py). allauth's
  other limits see the client's address as the throttle does.
"""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.conf import settings
from django.http import Http404
from django.shortcuts import resolve_url

from .models import Role
from .throttle import client_address


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return settings.ACCOUNTS_ALLOW_SIGNUP

    def new_user(self, request):
        """Every way of signing up starts here: a plain user, approved unless
        the site makes new accounts wait for an admin."""
        user = super().new_user(request)
        user.role = Role.USER
        user.is_approved = not settings.ACCOUNTS_REQUIRE_APPROVAL
        return user

    def get_client_ip(self, request) -> str:
        """The address core/proxy.py resolved, behind a trusted load balancer
        too."""
        return client_address(request)

    def get_login_redirect_url(self, request) -> str:
        if not request.user.is_approved:
            return resolve_url("accounts:pending")
        return super().get_login_redirect_url(request)

    def get_signup_redirect_url(self, request) -> str:
        if request.user.is_authenticated and not request.user.is_approved:
            return resolve_url("accounts:pending")
        return super().get_signup_redirect_url(request)


def verified_domain_approved(sociallogin) -> bool:
    """Whether the provider vouches for an address in one of the domains whose
    accounts need no admin's approval."""
    domains = settings.ACCOUNTS_AUTO_APPROVE_EMAIL_DOMAINS
    return any(
        address.verified and address.email.rpartition("@")[2].lower() in domains
        for address in sociallogin.email_addresses
    )


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def get_app(self, request, provider, client_id=None):
        """A provider the environment does not configure has no pages (404),
        though its addresses exist (chatsite/settings.py)."""
        try:
            return super().get_app(request, provider, client_id)
        except SocialApp.DoesNotExist:
            raise Http404("This site does not sign in through that provider.") from None

    def save_user(self, request, sociallogin, form=None):
        """A new account from a provider: the same role and approval as a
        sign-up with a password (AccountAdapter.new_user), but for a verified
        address in an auto-approved domain."""
        if verified_domain_approved(sociallogin):
            sociallogin.user.is_approved = True
        return super().save_user(request, sociallogin, form)
