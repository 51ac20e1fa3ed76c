import hashlib
import secrets

from django.utils import timezone

from .models import ApiKey

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


def completion_conversation_create(*, user, request) -> tuple:
    """Stores the request's history as a conversation: the system prompt and
    the earlier turns as the client gave them (its record, not new input).
    Returns the conversation and the answer the new message follows (None
    when the new message is the first)."""
    from django.db import transaction

    from chat.models import Message, MessageStatus
    from chat.services import conversation_create

    with transaction.atomic():
        conversation = conversation_create(owner=user, settings_values=request.settings)
        conversation.system_prompt = request.system_prompt
        conversation.title = ("API: " + " ".join(request.content.split()))[:60]
        conversation.save(update_fields=["system_prompt", "title"])
        parent = None
        for turn in request.turns:
            parent = Message.objects.create(
                conversation=conversation, parent=parent, role=turn["role"], content=turn["content"],
                status=MessageStatus.ACCEPTED if turn["role"] == "user" else MessageStatus.COMPLETE,
            )
    return conversation, parent
