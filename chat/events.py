"""Broadcasts to the browsers watching a conversation. Only services call
these; consumers relay what arrives."""

from django.db import transaction

from core import broadcast


def conversation_group(conversation_id: int) -> str:
    return f"conv.{int(conversation_id)}"


def send_now(conversation_id: int, event: dict) -> None:
    broadcast.group_send(conversation_group(conversation_id), event)


def send_on_commit(conversation_id: int, event: dict) -> None:
    """Sends once the surrounding transaction commits, so no client hears of
    a row it cannot read yet (Zulip's send_event_on_commit). A send that
    fails (Redis down) is logged, not raised: what it announces is stored,
    and pages reload it when they reconnect."""
    transaction.on_commit(lambda: send_now(conversation_id, event), robust=True)


def message_event(message) -> dict:
    from .serializers import message_to_dict

    return {"type": "chat.message", "message": message_to_dict(message)}
