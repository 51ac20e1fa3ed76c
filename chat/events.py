"""Broadcasts to the browsers watching a conversation. Only services call
these; consumers relay what arrives."""

from django.db import transaction

from core import broadcast

from .reports import report_states


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


def chat_user_group(user_id: int) -> str:
    """Every chat socket of one account, whichever conversation it shows
    (consumers.ChatConsumer joins it)."""
    return f"chat.user.{int(user_id)}"


def report_state_send_on_commit(*, user_id: int, message_id: int) -> None:
    """Tells the reporter's open chats the state of their report on this
    answer, as stored once the surrounding transaction (a moderator's
    decision) commits; a send that fails is logged, as in send_on_commit."""

    def send():
        report = report_states(user=user_id, message_ids=[message_id]).get(message_id)
        if report is not None:
            broadcast.group_send(
                chat_user_group(user_id), {"type": "chat.report", "message_id": message_id, "report": report}
            )

    transaction.on_commit(send, robust=True)
