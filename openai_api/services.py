import hashlib
import secrets
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from chat.model_choice import chat_model_named
from chat.models import Conversation, Message
from chat.services import TITLE_FROM_MESSAGE_CHARS, message_send
from core.db import retry_if_locked

from .models import ApiKey
from .requests import CompletionRequest

KEY_PREFIX = "cs-"


def _hash(raw_key: str) -> str:
    # Keys carry 256 random bits, so a plain SHA-256 cannot be brute-forced.
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_create(*, user, name: str) -> tuple[ApiKey, str]:
    """Returns the stored key and the raw key, which is never seen again."""
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(user=user, name=name.strip()[:100] or "API key", prefix=raw[:11], key_hash=_hash(raw))
    return key, raw


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


def api_key_authenticate(*, raw_key: str):
    """The active, approved user the key belongs to, or None."""
    key = ApiKey.objects.select_related("user").filter(key_hash=_hash(raw_key), revoked_at__isnull=True).first()
    if key is None or not (key.user.is_active and key.user.is_approved):
        return None
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    return key.user


@retry_if_locked
@transaction.atomic
def completion_start(*, user, request: CompletionRequest, on_stored: Callable[[Conversation], None]) -> Message:
    """Sends the request's last message as a new conversation, with its
    system prompt and the earlier turns stored before it as the client gave
    them (its record, not the model's: input moderation judges them with
    the message). The limits are checked first: a refused request stores
    nothing. `on_stored(conversation)` runs before the commit hands the
    message to moderation, so a watcher it adds to the conversation's group
    misses none of its events. Returns the queued answer."""
    conversation, _, answer = message_send(
        user=user,
        conversation=None,
        parent=None,
        content=request.content,
        settings_values={
            **request.settings,
            "system_prompt": request.system_prompt,
            "model_version": chat_model_named(request.model),
        },
        stop=request.stop,
        history=request.turns,
        title=("API: " + " ".join(request.content.split()))[:TITLE_FROM_MESSAGE_CHARS],
    )
    on_stored(conversation)
    return answer
