from django.db import connection
from django.db.models import Q

from .models import Feedback, Message, Conversation
from .serializers import conversation_to_dict, message_to_dict
from .text import clean_text


def conversation_list(*, user, query: str = "", limit: int = 200) -> list[dict]:
    """The user's conversations, newest first; `query` matches the title or
    any message's text."""
    conversations = Conversation.objects.filter(owner=user, arena_match__isnull=True, deleted_at__isnull=True)
    query = clean_text(query).strip()
    if query:
        matching = Message.objects.filter(
            conversation__owner=user, conversation__deleted_at__isnull=True, content__icontains=query
        ).values("conversation_id")
        conversations = conversations.filter(Q(title__icontains=query) | Q(pk__in=matching))
    return [
        {"id": c.pk, "title": c.title, "updated_at": c.updated_at.isoformat()}
        for c in conversations.order_by("-updated_at")[:limit]
    ]


def conversation_detail(*, conversation: Conversation, user) -> dict:
    """Everything the chat page needs: settings, the whole message tree (the
    browser follows `current_leaf` up to the root), and this user's feedback."""
    messages = list(conversation.messages.order_by("created_at", "id"))
    feedback = Feedback.objects.filter(message__conversation=conversation, user=user)
    return {
        "conversation": conversation_to_dict(conversation),
        "messages": [message_to_dict(m) for m in messages],
        "feedback": {
            f.message_id: {"rating": f.rating, "reasons": f.reasons, "comment": f.comment} for f in feedback
        },
    }


def branch_path(conversation: Conversation) -> list[Message]:
    """Messages from the root to the current leaf, in order."""
    by_id = {m.pk: m for m in conversation.messages.all()}
    path = []
    node = by_id.get(conversation.current_leaf_id)
    while node is not None:
        path.append(node)
        node = by_id.get(node.parent_id)
    return path[::-1]


def branch_ending_at(message_id: int | None, *, turns: int, chars: int | None = None) -> list[Message]:
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


def latest_leaf_under(message: Message) -> Message:
    """The newest descendant at the end of the newest children, which is
    where a branch switch lands (as in ChatGPT)."""
    by_parent: dict[int | None, list[Message]] = {}
    for m in message.conversation.messages.order_by("created_at", "id"):
        by_parent.setdefault(m.parent_id, []).append(m)
    node = message
    while by_parent.get(node.pk):
        node = by_parent[node.pk][-1]
    return node
