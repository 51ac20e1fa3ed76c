"""What an answer's model reads, and which of it input moderation has passed.

The model reads the conversation's system prompt and the turns on the
answer's branch. Input moderation judges the user's message, and with it
whatever else the model will read that it did not write here: the system
prompt (its fingerprint is kept in the message's verdict, so a prompt
changed afterwards is judged again) and turns a client supplied (/v1's
history, stored with `"source": "client"` in place of a verdict until it
is judged). What was refused, or is still waiting, is neither read by the
model nor shared with annotators.
"""
import hashlib

from django.db import connection

from .models import Message, MessageStatus

CLIENT = "client"
# Turns moderation refused or replaced, and answers that failed.
_REFUSED_STATUSES = (MessageStatus.FLAGGED, MessageStatus.MODERATED, MessageStatus.FAILED)


def client_turn_moderation() -> dict:
    """The `moderation` of a client-supplied turn until it is judged."""
    return {"source": CLIENT}


def is_client_turn(message: Message) -> bool:
    """A turn a client supplied as history: its text is the client's, even
    in an assistant turn, never the model's."""
    return (message.moderation or {}).get("source") == CLIENT


def awaits_moderation(message: Message) -> bool:
    """A client-supplied turn that input moderation has not judged yet."""
    return is_client_turn(message) and "flagged" not in message.moderation


def is_refused(message: Message) -> bool:
    return message.status in _REFUSED_STATUSES or bool((message.moderation or {}).get("flagged"))


def system_prompt_fingerprint(system_prompt: str) -> str:
    return hashlib.sha256(system_prompt.encode()).hexdigest()


def passed_with_system_prompt(message: Message, system_prompt: str) -> bool:
    """Whether input moderation passed `message` (a user's) beside this
    system prompt, or there is none to pass."""
    if not system_prompt.strip():
        return True
    context = (message.moderation or {}).get("context") or {}
    return context.get("system_prompt") == system_prompt_fingerprint(system_prompt)


def branch(message_id: int | None, *, turns: int, chars: int | None = None) -> list[Message]:
    """`message_id` and the messages above it, oldest first: the newest
    `turns` of them, and of those as many of the newest as hold `chars`
    characters (the first whatever its size). One recursive query walks up
    the branch, however long the conversation; only what is kept is read."""
    if message_id is None or turns < 1:
        return []
    table = Message._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE branch (id, parent_id, chars, depth) AS (
                SELECT id, parent_id, LENGTH(content), 1 FROM {table} WHERE id = %s
                UNION ALL
                SELECT m.id, m.parent_id, LENGTH(m.content), b.depth + 1
                FROM {table} m JOIN branch b ON m.id = b.parent_id
                WHERE b.depth < %s
            )
            SELECT id, chars FROM branch ORDER BY depth
            """,
            [message_id, turns],
        )
        walked = cursor.fetchall()
    kept, left = [], chars
    for pk, size in walked:
        if left is not None:
            if kept and size > left:
                break
            left -= size
        kept.append(pk)
    rows = Message.objects.in_bulk(kept)
    return [rows[pk] for pk in reversed(kept) if pk in rows]
