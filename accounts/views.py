from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.conf import settings
from django.views.decorators.http import require_POST

from .access import role_required
from .forms import SignupForm
from .models import Role, User
from .selectors import user_is_last_admin
from .services import UNSET_QUOTA, user_signup, user_update_access, user_update_settings
from .throttle import client_address, login_retry_after


class LoginView(auth_views.LoginView):
    """Django's login page, saying plainly (429) when the sign-in throttle
    refuses, and for how long, rather than "wrong password" again."""

    redirect_authenticated_user = True

    def form_invalid(self, form):
        wait = login_retry_after(username=form.data.get("username"), address=client_address(self.request))
        if not wait:
            return super().form_invalid(form)
        minutes = max(1, round(wait / 60))
        message = f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        return self.render_to_response(self.get_context_data(form=form, throttled=message), status=429)


def signup_view(request):
    if not settings.ACCOUNTS_ALLOW_SIGNUP:
        raise Http404("Sign-up is closed on this site.")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = user_signup(form=form)
        login(request, user, backend="accounts.backends.ThrottledModelBackend")
        return redirect("chat:home" if user.is_approved else "accounts:pending")
    return render(request, "accounts/signup.html", {"form": form})


def pending_view(request):
    if request.user.is_authenticated and request.user.is_approved:
        return redirect("chat:home")
    return render(request, "accounts/pending.html")


@role_required(Role.ADMIN)
def user_list_view(request):
    users = User.objects.order_by("is_approved", "-date_joined")
    return render(request, "accounts/users.html", {"users": users, "roles": Role.choices})


@require_POST
@role_required(Role.ADMIN)
def user_update_view(request, user_id: int):
    user = get_object_or_404(User, pk=user_id)
    role = request.POST.get("role")
    if role is not None and role not in Role.values:
        messages.error(request, "Unknown role.")
        return redirect("accounts:users")
    approved = request.POST.get("is_approved")
    if ((role is not None and role != Role.ADMIN) or approved == "0") and user_is_last_admin(user=user):
        messages.error(request, f"{user.username} is the only admin: make another account admin first.")
        return redirect("accounts:users")
    arena = request.POST.get("arena_enabled")
    quota = request.POST.get("daily_token_quota")
    if quota is not None and quota.strip() and not (quota.strip().isdigit() and int(quota) < 2**31):
        messages.error(request, "The daily token quota must be a whole number (0: unlimited), or empty for the site's default.")
        return redirect("accounts:users")
    user_update_access(
        user=user,
        role=role,
        is_approved=None if approved is None else approved == "1",
        arena_enabled=None if arena is None else arena == "1",
        daily_token_quota=None if quota is None else (int(quota) if quota.strip() else UNSET_QUOTA),
    )
    messages.success(request, f"Updated {user.username}.")
    return redirect("accounts:users")


@login_required
def user_settings_view(request):
    """The signed-in user's own settings: whether their chat data may help
    improve the model."""
    if request.method == "POST":
        user_update_settings(user=request.user, shares_chat_data=request.POST.get("shares_chat_data") == "1")
        messages.success(request, "Settings saved.")
        return redirect("accounts:settings")
    return render(request, "accounts/settings.html")
