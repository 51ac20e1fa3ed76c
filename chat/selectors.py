from django.conf import settings
from django.db import connection
from django.db.models import OuterRef, Q, Subquery

from core.text import clean_text

from . import search
from .context import awaits_moderation, is_refused, passed_moderation
from .models import Conversation, Feedback, Message
from .reports import report_states
from .serializers import conversation_to_dict, message_to_dict


def conversation_list(*, user, query: str = "", limit: int = 200) -> list[dict]:
    """The user's conversations, newest first. With a `query`, those whose
    title or the text of a message matches it, ignoring case, each with
    where: `title_match` (the title's parts around the match) and
    `snippet` (the earliest matching message's text around the match,
    chat.search.snippet). Messages moderation refused or has not passed
    yet neither match nor show (context.passed_moderation)."""
    conversations = Conversation.objects.filter(owner=user, arena_match__isnull=True, deleted_at__isnull=True)
    query = clean_text(query).strip()
    if not query:
        return [_listed(c) for c in conversations.order_by("-updated_at")[:limit]]
    needle = search.fold(query)
    first_match = (
        Message.objects.filter(conversation=OuterRef("pk"))
        .filter(passed_moderation())
        .alias(folded=search.Folded("content"))
        .filter(folded__contains=needle)
        .order_by("created_at", "id")
        .values("pk")[:1]
    )
    found = list(
        conversations.alias(folded_title=search.Folded("title"))
        .annotate(first_match=Subquery(first_match))
        .filter(Q(folded_title__contains=needle) | Q(first_match__isnull=False))
        .order_by("-updated_at")[:limit]
    )
    texts = dict(Message.objects.filter(pk__in=[c.first_match for c in found]).values_list("pk", "content"))
    return [
        {
            **_listed(c),
            "title_match": search.match_parts(c.title, query),
            "snippet": search.snippet(texts[c.first_match], query) if c.first_match in texts else None,
        }
        for c in found
    ]


def _listed(conversation: Conversation) -> dict:
    return {
        "id": conversation.pk,
        "title": conversation.title,
        "updated_at": conversation.updated_at.isoformat(),
        "imported": conversation.chat_import_id is not None,
    }


def conversation_detail(*, conversation: Conversation, user) -> dict:
    """Everything the chat page needs: settings, the whole message tree (the
    browser follows `current_leaf` up to the root), this user's feedback,
    and the state of each answer they reported."""
    messages = list(conversation.messages.order_by("created_at", "id"))
    feedback = Feedback.objects.filter(message__conversation=conversation, user=user)
    reports = report_states(user=user, message_ids=[m.pk for m in messages if m.role == Message.Role.ASSISTANT])
    return {
        "conversation": conversation_to_dict(conversation),
        "messages": [message_to_dict(m, report=reports.get(m.pk)) for m in messages],
        "feedback": {f.message_id: {"rating": f.rating, "reasons": f.reasons, "comment": f.comment} for f in feedback},
    }


def message_detail(*, message: Message, user) -> dict:
    """One message as the page fetches it (a gap in a stream, an answer
    another tab started), with the state of `user`'s report on it."""
    return message_to_dict(message, report=report_states(user=user, message_ids=[message.pk]).get(message.pk))


def branch_path(conversation: Conversation) -> list[Message]:
    """Messages from the root to the current leaf, in order."""
    if conversation.current_leaf_id is None:
        return []
    return branch_ending_at(conversation.current_leaf_id)


def message_branch(leaf: Message) -> list[Message]:
    """`leaf` and every message above it, root first, whatever their status:
    the one walk up a conversation's tree that chat, moderation and
    labeling share."""
    return branch_ending_at(leaf.pk)


def branch_ending_at(message_id: int | None, *, turns: int | None = None, chars: int | None = None) -> list[Message]:
    """`message_id` and the messages above it, oldest first: the newest
    `turns` of them (all when None), and of those as many of the newest as
    hold `chars` characters (the first whatever its size). One recursive
    query walks up the branch, however long the conversation; only what is
    kept is read."""
    if message_id is None or (turns is not None and turns < 1):
        return []
    table = Message._meta.db_table
    depth_limit = "WHERE b.depth < %s" if turns is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE branch (id, parent_id, chars, depth) AS (
                SELECT id, parent_id, LENGTH(content), 1 FROM {table} WHERE id = %s
                UNION ALL
                SELECT m.id, m.parent_id, LENGTH(m.content), b.depth + 1
                FROM {table} m JOIN branch b ON m.id = b.parent_id
                {depth_limit}
            )
            SELECT id, chars FROM branch ORDER BY depth
            """,
            [message_id] if turns is None else [message_id, turns],
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


def model_context(answer: Message) -> list[dict[str, str]]:
    """The chat messages the model reads for `answer`: the system prompt,
    then the newest turns on its branch, at most CHAT_MAX_TURNS holding
    CHAT_MAX_CONTEXT_CHARS with the system prompt (the question always).
    Refused exchanges are left out, so a refused request does not steer
    later answers, and so are client turns input moderation has not
    judged. An answer that already holds text is being continued
    (services.answer_continue): that text ends the chat, as the turn the
    model writes on."""
    conversation = answer.conversation
    system_prompt = conversation.system_prompt if conversation.system_prompt.strip() else ""
    path = branch_ending_at(
        answer.parent_id, turns=settings.CHAT_MAX_TURNS, chars=settings.CHAT_MAX_CONTEXT_CHARS - len(system_prompt)
    )
    turns = [
        {"role": m.role, "content": m.content}
        for m in path
        if m.content and not is_refused(m) and not awaits_moderation(m)
    ]
    while turns and turns[0]["role"] != "user":
        turns.pop(0)
    if system_prompt:
        turns.insert(0, {"role": "system", "content": system_prompt})
    if answer.content:
        turns.append({"role": "assistant", "content": answer.content})
    return turns


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
