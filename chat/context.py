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

from django.db.models import Q

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


def passed_moderation() -> Q:
    """The messages neither refused (`is_refused`) nor waiting for input
    moderation (a user's message still pending, a client turn that
    `awaits_moderation`), as a query filter: the text that may be shown
    beyond the thread that holds it, such as a search result's snippet."""
    refused = Q(status__in=_REFUSED_STATUSES) | Q(moderation__flagged=True)
    waiting = Q(status=MessageStatus.PENDING) | (Q(moderation__source=CLIENT) & ~Q(moderation__has_key="flagged"))
    return ~refused & ~waiting


def system_prompt_fingerprint(system_prompt: str) -> str:
    return hashlib.sha256(system_prompt.encode()).hexdigest()


def passed_with_system_prompt(message: Message, system_prompt: str) -> bool:
    """Whether input moderation passed `message` (a user's) beside this
    system prompt, or there is none to pass."""
    if not system_prompt.strip():
        return True
    context = (message.moderation or {}).get("context") or {}
    return context.get("system_prompt") == system_prompt_fingerprint(system_prompt)
