"""The user's own data controls (ChatGPT's): export everything, delete
every chat, delete the account. They live in chat, above accounts, since
each reads or deletes the user's conversations."""

from django.db import transaction
from django.utils import timezone

from accounts.selectors import user_is_last_admin
from accounts.services import admins_lock, user_anonymise
from core.errors import UserError

from .exports import conversation_export_json
from .imports_service import chat_imports_delete_all
from .models import ChatImport, Conversation, Feedback
from .presets import chat_defaults_saved, chat_settings_delete_all, preset_list, preset_to_dict
from .reports import report_list
from .services import conversation_delete


def _visible_conversations(user):
    """The chats the user sees in the sidebar (arena rounds are the arena's)."""
    return Conversation.objects.filter(owner=user, arena_match__isnull=True, deleted_at__isnull=True)


def user_data_export(*, user) -> dict:
    """Everything the user made in chat, as one JSON document: their
    account and settings, and each conversation with its settings and
    every branch's messages, each answer carrying the user's feedback; the
    chat defaults they saved (null for none), their presets, and the answers
    they reported with what moderators decided, and the chat exports they
    imported (their conversations are among the others)."""
    feedback = {
        item.message_id: {
            "rating": item.rating,
            "reasons": item.reasons,
            "comment": item.comment,
            "created_at": item.created_at.isoformat(),
        }
        for item in Feedback.objects.filter(user=user, message__conversation__in=_visible_conversations(user))
    }
    conversations = []
    for conversation in _visible_conversations(user).order_by("created_at", "id"):
        data = conversation_export_json(conversation)
        for message in data["messages"]:
            message["feedback"] = feedback.get(message["id"])
        conversations.append(data)
    return {
        "exported_at": timezone.now().isoformat(),
        "account": {
            "username": user.username,
            "email": user.email,
            "role": user.role,
            "date_joined": user.date_joined.isoformat(),
        },
        "settings": {"shares_chat_data": user.shares_chat_data, "time_zone": user.time_zone or None},
        "chat_defaults": chat_defaults_saved(user=user),
        "presets": [preset_to_dict(preset) for preset in preset_list(user=user)],
        "conversations": conversations,
        "reports": [
            {
                "answer": report["answer"],
                "reason": report["reason"],
                "status": report["status"],
                "reported_at": report["reported_at"].isoformat(),
                "decided_at": report["decided_at"].isoformat() if report["decided_at"] else None,
                "conversation": report["conversation"].pk if report["conversation"] else None,
            }
            for report in report_list(user=user, limit=None)
        ],
        "chat_imports": [
            {
                "file_name": item.file_name,
                "format": item.format or None,
                "state": item.state,
                "error": item.error,
                "counts": item.counts,
                "shares_prompts": item.shares_prompts,
                "uploaded_at": item.created_at.isoformat(),
            }
            for item in ChatImport.objects.filter(owner=user).order_by("created_at", "id")
        ],
    }


def conversations_delete_all(*, user) -> int:
    """Deletes each of the user's chats as deleting one does (hidden at
    once, kept for moderation until purged); returns how many."""
    conversations = list(_visible_conversations(user))
    for conversation in conversations:
        conversation_delete(conversation=conversation)
    return len(conversations)


@transaction.atomic
def account_delete(*, user) -> None:
    """Deletes every conversation of the user (arena rounds too) as
    deleting one does, their chat defaults, presets and chat imports, and
    anonymises and deactivates the account. What moderation keeps survives: review
    items and their decisions keep their text and point at the anonymised
    account, and conversations_purge keeps the conversations an open or
    confirmed review item needs."""
    admins_lock()
    if user_is_last_admin(user=user):
        raise UserError("last_admin", "You are the only admin: make another account admin before deleting yours.")
    for conversation in Conversation.objects.filter(owner=user, deleted_at__isnull=True):
        conversation_delete(conversation=conversation)
    chat_settings_delete_all(user=user)
    chat_imports_delete_all(user=user)
    user_anonymise(user=user)
