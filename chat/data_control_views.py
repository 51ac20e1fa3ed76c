"""The data controls on the settings page: export, import chats from
another app, delete all chats, delete the account. Each destructive one has
a page of its own that asks first, so it works without JavaScript."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import can_chat
from accounts.forms import PasswordConfirmForm
from core.errors import UserError

from .data_controls import account_delete, conversations_delete_all, user_data_export
from .imports_service import chat_import_create, chat_import_list, chat_import_sharing_stop
from .models import ChatImport


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


@require_http_methods(["GET", "POST"])
@login_required
def chat_imports_view(request):
    """GET: the upload form and the user's imports (the page reloads itself
    while one is in progress). POST: an export to import, refused at once
    with its reason when it cannot be. For approved accounts: the data
    controls stay open to one waiting for approval, imports do not."""
    if not can_chat(request.user):
        return redirect("accounts:pending")
    error = None
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error = "Choose a file to import."
        else:
            try:
                chat_import_create(
                    user=request.user, upload=upload, shares_prompts=request.POST.get("shares_prompts") == "1"
                )
            except UserError as failure:
                error = failure.message
            else:
                messages.success(request, f"“{upload.name}” is being imported: its chats appear in your sidebar.")
                return redirect("data_controls:imports")
    imports = chat_import_list(user=request.user)
    context = {
        "imports": imports,
        "error": error,
        "in_progress": any(row["in_progress"] for row in imports),
        "max_mb": settings.CHAT_IMPORT_MAX_MB,
        "max_conversations": settings.CHAT_IMPORT_MAX_CONVERSATIONS,
    }
    return render(request, "chat/data_controls/imports.html", context, status=400 if error else 200)


@require_POST
@login_required
def chat_import_stop_sharing_view(request, import_id):
    """Withdraws the consent given with an import (the user's own; another's
    is a 404, as if it did not exist)."""
    chat_import = get_object_or_404(ChatImport, pk=import_id, owner=request.user)
    chat_import_sharing_stop(chat_import=chat_import)
    messages.success(request, f"Prompts from “{chat_import.file_name}” are no longer shared from now on.")
    return redirect("data_controls:imports")
