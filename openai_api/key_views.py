from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .models import ApiKey
from .services import api_key_create, api_key_revoke


@login_required
def api_key_list_view(request):
    return render(request, "openai_api/keys.html", {"keys": request.user.api_keys.all()})


@require_POST
@login_required
@never_cache
def api_key_create_view(request):
    """The new key is shown in this response, never stored anywhere: a
    message would wait for the next page in the (signed, not encrypted)
    messages cookie, which proxies and access logs can record."""
    key, raw = api_key_create(user=request.user, name=request.POST.get("name", ""))
    return render(
        request, "openai_api/keys.html", {"keys": request.user.api_keys.all(), "new_key": key, "new_raw_key": raw}
    )


@require_POST
@login_required
def api_key_revoke_view(request, key_id: int):
    key = ApiKey.objects.filter(pk=key_id, user=request.user).first()
    if key is None:
        raise Http404("No such key.")
    api_key_revoke(key=key)
    messages.success(request, f"Revoked “{key.name}”.")
    return redirect("api-keys")
