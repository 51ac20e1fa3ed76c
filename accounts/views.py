from allauth.account import views as allauth_views
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import requires_csrf_token
from django.views.decorators.http import require_POST

from core.errors import UserError

from .access import role_required
from .models import Role, User
from .selectors import access_change_loss, access_change_refusal
from .services import UNSET_QUOTA, user_change_access, user_set_theme, user_update_settings
from .throttle import client_address, login_retry_after
from .timezones import TIME_ZONE_COOKIE, time_zone_names, valid_time_zone

# Paths whose clients read JSON: their refusals stay JSON.
_API_PREFIXES = ("/api/", "/arena/api/", "/v1/")
DEFAULT_REFUSAL = "Your account may not open this page."


@requires_csrf_token
def permission_denied_view(request, exception=None):
    """handler403: the reason the check gave (accounts.access.role_refusal
    and its kin), on a page with the site's navigation, or as JSON for the
    APIs and for clients that ask for JSON."""
    reason = (str(exception) if exception else "") or DEFAULT_REFUSAL
    wants_json = request.get_preferred_type(["text/html", "application/json"]) == "application/json"
    if request.path.startswith(_API_PREFIXES) or wants_json:
        return JsonResponse({"error": reason, "code": "forbidden"}, status=403)
    return render(request, "403.html", {"reason": reason}, status=403)


class LoginView(allauth_views.LoginView):
    """allauth's sign-in page, saying plainly (429) when the sign-in throttle
    (accounts/throttle.py) refuses, and for how long, rather than "wrong
    password" again."""

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs) | {"signup_open": settings.ACCOUNTS_ALLOW_SIGNUP}

    def form_invalid(self, form):
        wait = login_retry_after(username=form.data.get("username"), address=client_address(self.request))
        if not wait:
            return super().form_invalid(form)
        minutes = max(1, round(wait / 60))
        message = f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        form.errors[NON_FIELD_ERRORS] = form.error_class([message])
        return self.render_to_response(self.get_context_data(form=form), status=429)


@method_decorator(never_cache, name="dispatch")  # a form sent back with an error may carry the passwords
class SignupView(allauth_views.SignupView):
    """allauth's sign-up page (accounts.forms.SignupForm); closed (404) when
    ACCOUNTS_ALLOW_SIGNUP is off, as the page was before allauth."""

    def dispatch(self, request, *args, **kwargs):
        if not settings.ACCOUNTS_ALLOW_SIGNUP:
            raise Http404("Sign-up is closed on this site.")
        return super().dispatch(request, *args, **kwargs)


def pending_view(request):
    if request.user.is_authenticated and request.user.is_approved:
        return redirect("chat:home")
    return render(request, "accounts/pending.html")


@role_required(Role.ADMIN)
def user_list_view(request):
    # How each account signs in through single sign-on, for whoever approves it.
    users = User.objects.order_by("is_approved", "-date_joined").prefetch_related("socialaccount_set")
    return render(request, "accounts/users.html", {"users": users, "roles": Role.choices})


@require_POST
@role_required(Role.ADMIN)
def user_update_view(request, user_id: int):
    """One change to an account's access. A change that takes something
    away (approval, a lower role) is shown back for confirmation first: the
    confirmation page posts the same fields with `confirmed`, so it works
    without JavaScript."""
    user = get_object_or_404(User, pk=user_id)
    role = request.POST.get("role")
    if role is not None and role not in Role.values:
        messages.error(request, "Unknown role.")
        return redirect("accounts:users")
    approved = request.POST.get("is_approved")
    is_approved = None if approved is None else approved == "1"
    refusal = access_change_refusal(actor=request.user, user=user, role=role, is_approved=is_approved)
    if refusal:  # before asking to confirm what would be refused anyway
        messages.error(request, refusal)
        return redirect("accounts:users")
    arena = request.POST.get("arena_enabled")
    quota = request.POST.get("daily_token_quota")
    if quota is not None and quota.strip() and not (quota.strip().isdigit() and int(quota) < 2**31):
        messages.error(
            request, "The daily token quota must be a whole number (0: unlimited), or empty for the site's default."
        )
        return redirect("accounts:users")
    loss = access_change_loss(user=user, role=role, is_approved=is_approved)
    if loss and request.POST.get("confirmed") != "1":
        fields = {key: value for key, value in request.POST.items() if key in _ACCESS_FIELDS}
        return render(request, "accounts/user_update_confirm.html", {"target": user, "loss": loss, "fields": fields})
    try:
        user_change_access(
            actor=request.user,
            user=user,
            role=role,
            is_approved=is_approved,
            arena_enabled=None if arena is None else arena == "1",
            daily_token_quota=None if quota is None else (int(quota) if quota.strip() else UNSET_QUOTA),
        )
    except UserError as error:
        messages.error(request, error.message)
        return redirect("accounts:users")
    messages.success(request, f"Updated {user.username}.")
    return redirect("accounts:users")


@login_required
@require_POST
def theme_view(request):
    """The top bar's theme button saves the user's choice here (JSON
    answer), so the next browser they sign in on starts with it."""
    try:
        user = user_set_theme(user=request.user, theme=request.POST.get("theme", ""))
    except UserError as error:
        return JsonResponse({"error": error.message, "code": error.code}, status=400)
    return JsonResponse({"theme": user.theme})


# What the Users page's forms post, carried through the confirmation page.
_ACCESS_FIELDS = ("role", "is_approved", "arena_enabled", "daily_token_quota")


@login_required
def user_settings_view(request):
    """The signed-in user's own settings: whether their chat data may help
    improve the model, and the time zone pages show times in."""
    if request.method == "POST":
        try:
            user_update_settings(
                user=request.user,
                shares_chat_data=request.POST.get("shares_chat_data") == "1",
                time_zone=request.POST.get("time_zone", "").strip(),
            )
        except UserError as error:
            messages.error(request, error.message)
            return redirect("accounts:settings")
        messages.success(request, "Settings saved.")
        return redirect("accounts:settings")
    return render(
        request,
        "accounts/settings.html",
        {
            "time_zones": time_zone_names(),
            "browser_time_zone": valid_time_zone(request.COOKIES.get(TIME_ZONE_COOKIE)),
        },
    )
