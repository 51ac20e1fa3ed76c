"""The data controls on the settings page: export, delete all chats,
delete the account. Each destructive one has a page of its own that asks
first, so it works without JavaScript."""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from accounts.forms import PasswordConfirmForm
from core.errors import UserError

from .data_controls import account_delete, conversations_delete_all, user_data_export


@require_GET
@login_required
def data_export_view(request):
    response = JsonResponse(user_data_export(user=request.user), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="chatsite-data-{request.user.username}.json"'
    return response


@require_http_methods(["GET", "POST"])
@login_required
def chats_delete_view(request):
    """GET asks; POST (the page's button) deletes."""
    if request.method == "POST":
        count = conversations_delete_all(user=request.user)
        messages.success(request, f"Deleted {count} chat{'s' if count != 1 else ''}.")
        return redirect("accounts:settings")
    return render(request, "chat/data_controls/delete_chats.html")


@require_http_methods(["GET", "POST"])
@login_required
def account_delete_view(request):
    """Asks for the password; then deletes the chats, closes the account
    and signs out."""
    form = PasswordConfirmForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account_delete(user=request.user)
        except UserError as error:
            form.add_error(None, error.message)
        else:
            logout(request)
            return render(request, "chat/data_controls/account_deleted.html")
    return render(request, "chat/data_controls/delete_account.html", {"form": form})
