from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import UserError
from core.http import json_body

from . import services
from .access import access_conversation_by_id, access_message_by_id
from .exports import conversation_export_json, conversation_export_markdown
from .model_choice import chat_model_choices, conversation_model_pick
from .models import FEEDBACK_REASONS
from .params import (
    PRESET_NAME_MAX_CHARS,
    clean_conversation_settings,
    clean_generation_settings,
    clean_preset_name,
)
from .presets import (
    chat_defaults_clear,
    chat_defaults_saved,
    chat_defaults_update,
    preset_access_by_id,
    preset_create,
    preset_delete,
    preset_list,
    preset_to_dict,
    preset_update,
    site_defaults,
)
from .reports import report_to_dict
from .selectors import conversation_detail, conversation_list, message_detail
from .serializers import conversation_to_dict

_MAX_JSON_BODY = 64 * 1024


def _json_body(request) -> dict:
    return json_body(request, max_bytes=_MAX_JSON_BODY)


def _api(view):
    """JSON API views: 401 for anonymous, 404 for others' objects, 400 with
    a message for bad input."""

    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return JsonResponse({"error": "Sign in first."}, status=401)
        try:
            return view(request, *args, **kwargs)
        except Http404:
            return JsonResponse({"error": "Not found."}, status=404)
        except UserError as exc:
            return JsonResponse({"error": exc.message, "code": exc.code}, status=400)

    wrapped.__name__ = view.__name__
    return wrapped


@login_required
def chat_page_view(request, conversation_id: int | None = None):
    initial = None
    if conversation_id is not None:
        conversation = access_conversation_by_id(request.user, conversation_id)
        initial = conversation_detail(conversation=conversation, user=request.user)
    defaults = chat_defaults_saved(user=request.user)
    return render(
        request,
        "chat/chat.html",
        {
            "initial": initial,
            "feedback_reasons": {str(k): v for k, v in FEEDBACK_REASONS.items()},
            "presets": [preset_to_dict(preset) for preset in preset_list(user=request.user)],
            "models": chat_model_choices(),
            "limits": {
                "max_message_chars": settings.CHAT_MAX_MESSAGE_CHARS,
                "max_new_tokens_limit": settings.GENERATION_MAX_NEW_TOKENS_LIMIT,
                "generation_defaults": defaults or site_defaults(),
                "defaults_saved": defaults is not None,
                "report_max_chars": services.REPORT_MAX_CHARS,
                "preset_name_max_chars": PRESET_NAME_MAX_CHARS,
            },
        },
    )


@require_GET
@_api
def conversation_list_view(request):
    return JsonResponse({"conversations": conversation_list(user=request.user, query=request.GET.get("q", "")[:200])})


@require_http_methods(["GET", "PATCH", "DELETE"])
@_api
def conversation_detail_view(request, conversation_id: int):
    conversation = access_conversation_by_id(request.user, conversation_id)
    if request.method == "PATCH":
        values = clean_conversation_settings(_json_body(request))
        services.conversation_update(conversation=conversation, values=values)
        return JsonResponse({"conversation": conversation_to_dict(conversation)})
    if request.method == "DELETE":
        services.conversation_delete(conversation=conversation)
        return JsonResponse({"deleted": conversation_id})
    return JsonResponse(conversation_detail(conversation=conversation, user=request.user))


@require_POST
@_api
def conversation_select_view(request, conversation_id: int):
    conversation = access_conversation_by_id(request.user, conversation_id)
    message = access_message_by_id(request.user, _json_body(request).get("message"))
    if message.conversation_id != conversation.pk:
        raise Http404
    leaf = services.conversation_select_branch(conversation=conversation, message=message)
    return JsonResponse({"current_leaf": leaf.pk})


@require_http_methods(["GET", "PUT"])
@_api
def conversation_model_view(request, conversation_id: int):
    """The conversation's model and the choices; PUT picks the model for
    its next answers: {"version": id} of a version chat offers, or null for
    the default (chat.model_choice)."""
    conversation = access_conversation_by_id(request.user, conversation_id)
    if request.method == "GET":
        return JsonResponse({"model_version": conversation.model_version_id, "choices": chat_model_choices()})
    data = _json_body(request)
    if "version" not in data:
        raise UserError("invalid_model", 'Say which model: {"version": id}, or null for the default.')
    conversation_model_pick(conversation=conversation, raw=data["version"])
    return JsonResponse({"conversation": conversation_to_dict(conversation)})


@require_GET
@_api
def message_detail_view(request, message_id: int):
    message = access_message_by_id(request.user, message_id)
    return JsonResponse({"message": message_detail(message=message, user=request.user)})


@require_POST
@_api
def message_feedback_view(request, message_id: int):
    message = access_message_by_id(request.user, message_id)
    data = _json_body(request)
    feedback = services.feedback_submit(
        user=request.user,
        message=message,
        rating=data.get("rating"),
        reasons=data.get("reasons", []),
        comment=data.get("comment", ""),
    )
    return JsonResponse({"rating": feedback.rating, "reasons": feedback.reasons, "comment": feedback.comment})


@require_POST
@_api
def message_report_view(request, message_id: int):
    message = access_message_by_id(request.user, message_id)
    item = services.message_report(user=request.user, message=message, reason=_json_body(request).get("reason", ""))
    return JsonResponse({"report": report_to_dict(item)}, status=201)


@require_http_methods(["GET", "PUT", "DELETE"])
@_api
def chat_defaults_view(request):
    """The settings the user's new chats start from (`saved`: their own,
    else the site's): PUT saves the four of them, DELETE forgets them."""
    if request.method == "PUT":
        chat_defaults_update(user=request.user, values=clean_generation_settings(_json_body(request)))
    elif request.method == "DELETE":
        chat_defaults_clear(user=request.user)
    saved = chat_defaults_saved(user=request.user)
    return JsonResponse({"defaults": saved or site_defaults(), "saved": saved is not None})


def _preset_fields(data: dict) -> tuple[str | None, dict | None]:
    """The name and the settings a preset request carries ({"name": str,
    "settings": {...}}), each validated, None where it is left out."""
    name = clean_preset_name(data["name"]) if "name" in data else None
    values = clean_generation_settings(data["settings"]) if "settings" in data else None
    return name, values


@require_http_methods(["GET", "POST"])
@_api
def preset_list_view(request):
    if request.method == "POST":
        data = _json_body(request)
        name, values = _preset_fields(data)
        if name is None or values is None:
            raise UserError("invalid_preset", "A new preset needs a name and its settings.")
        preset = preset_create(owner=request.user, name=name, values=values)
        return JsonResponse({"preset": preset_to_dict(preset)}, status=201)
    return JsonResponse({"presets": [preset_to_dict(preset) for preset in preset_list(user=request.user)]})


@require_http_methods(["GET", "PATCH", "DELETE"])
@_api
def preset_detail_view(request, preset_id: int):
    preset = preset_access_by_id(request.user, preset_id)
    if request.method == "PATCH":
        name, values = _preset_fields(_json_body(request))
        preset = preset_update(preset=preset, name=name, values=values)
    elif request.method == "DELETE":
        preset_delete(preset=preset)
        return JsonResponse({"deleted": preset_id})
    return JsonResponse({"preset": preset_to_dict(preset)})


@login_required
@require_GET
def conversation_export_view(request, conversation_id: int, fmt: str):
    if fmt not in ("json", "md"):
        raise Http404("Exports are .json or .md.")
    conversation = access_conversation_by_id(request.user, conversation_id)
    filename = slugify(conversation.title)[:50] or "conversation"
    if fmt == "json":
        response = JsonResponse(conversation_export_json(conversation), json_dumps_params={"indent": 2})
    else:
        response = HttpResponse(conversation_export_markdown(conversation), content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response
