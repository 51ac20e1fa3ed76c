"""Ownership checks shared by views, consumers and tasks. Another user's
conversation looks exactly like one that does not exist, and so do a
deleted one (kept for moderation until purged) and an arena round's: the
arena app serves those, with the model versions hidden until the user has
voted."""

from django.http import Http404

from accounts.access import can_chat

from .models import Conversation, Message


def access_conversation_by_id(user, conversation_id) -> Conversation:
    if not can_chat(user):
        raise Http404("No such conversation.")
    try:
        return Conversation.objects.get(
            pk=int(conversation_id), owner=user, arena_match__isnull=True, deleted_at__isnull=True
        )
    except (Conversation.DoesNotExist, TypeError, ValueError, OverflowError):  # OverflowError: int(Infinity)
        raise Http404("No such conversation.") from None


def access_message_by_id(user, message_id) -> Message:
    if not can_chat(user):
        raise Http404("No such message.")
    try:
        return Message.objects.select_related("conversation").get(
            pk=int(message_id),
            conversation__owner=user,
            conversation__arena_match__isnull=True,
            conversation__deleted_at__isnull=True,
        )
    except (Message.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404("No such message.") from None
