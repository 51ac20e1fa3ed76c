from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .models import ApiKey
from .services import api_key_create, api_key_revoke


@login_required
def api_key_list_view(request):
    return render(request, "openai_api/keys.html", {"keys": request.user.api_keys.all()})


@require_POST
@login_required
def api_key_create_view(request):
    key, raw = api_key_create(user=request.user, name=request.POST.get("name", ""))
    messages.success(request, f"Created “{key.name}”. Copy the key now; it is not shown again: {raw}")
    return redirect("api-keys")


@require_POST
@login_required
def api_key_revoke_view(request, key_id: int):
    key = ApiKey.objects.filter(pk=key_id, user=request.user).first()
    if key is None:
        raise Http404("No such key.")
    api_key_revoke(key=key)
    messages.success(request, f"Revoked “{key.name}”.")
    return redirect("api-keys")
