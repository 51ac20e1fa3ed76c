from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from .sso import provider_origins
from .timezones import reader_time_zone

# Paths an account waiting for approval may still reach. The OpenAI API
# (/v1/) ignores the session: it authenticates each request by API key and
# refuses a key of an unapproved account itself, with the API's own 401.
_OPEN_PREFIXES = ("/accounts/", "/static/", "/healthz", "/v1/")
# Paths that render no time for a reader: their answers must not wait on the
# session (the health checks answer while the database is down).
_NO_TIMES_PREFIXES = ("/static/", "/healthz")


class ApprovalRequiredMiddleware:
    """Sends signed-in accounts that an admin has not approved yet to the
    waiting page; every other page stays closed to them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(_OPEN_PREFIXES):  # first: /healthz must not need the session's user
            return self.get_response(request)
        user = request.user
        if user.is_authenticated and not user.is_approved:
            if request.path.startswith("/api/"):
                from django.http import JsonResponse

                return JsonResponse({"error": "Your account is waiting for an admin's approval."}, status=403)
            return redirect(reverse("accounts:pending"))
        return self.get_response(request)


class TimeZoneMiddleware:
    """Server-rendered times (the `date` filter, forms) in the reader's time
    zone (accounts.timezones.reader_time_zone); after the authentication
    middleware, since an account's own choice comes first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(_NO_TIMES_PREFIXES):  # /healthz must not need the session's user
            return self.get_response(request)
        zone = reader_time_zone(request)
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        return self.get_response(request)


class SingleSignOnFormTargetsMiddleware:
    """Names the single sign-on providers' origins (accounts/sso.py) on the
    account pages' responses, for core.csp.ContentSecurityPolicyMiddleware
    (which runs after it on the way out)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith("/accounts/"):
            response.csp_form_targets = provider_origins()
        return response
