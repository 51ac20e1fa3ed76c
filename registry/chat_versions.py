"""Which policy versions chat's model picker offers, and the admins'
switch that offers one. The serving version is always offered, as the
default; besides it, a policy is offered once an admin made it available
for chat, under a display name and its description. /v1/models lists the
same versions (openai_api.selectors), so a client's `model` and the
picker choose among one set."""

from core.errors import UserError

from .models import ModelVersion

CHAT_LABEL_MAX_CHARS = ModelVersion._meta.get_field("chat_label").max_length
DESCRIPTION_MAX_CHARS = 500


def chat_version_label(version: ModelVersion) -> str:
    return version.chat_label or version.name


def chat_versions_offered() -> list[ModelVersion]:
    """The policies admins made available for chat, by display name (the
    serving one is the default and not listed here unless made available)."""
    versions = ModelVersion.objects.filter(kind=ModelVersion.Kind.POLICY, chat_available=True)
    return sorted(versions, key=lambda version: (chat_version_label(version).lower(), version.pk))


def chat_version_is_offered(version: ModelVersion) -> bool:
    return version.kind == ModelVersion.Kind.POLICY and version.chat_available


def model_version_chat_offer(*, version: ModelVersion, available: bool, label: str, description: str) -> ModelVersion:
    """Offers `version` in chat's picker (or stops offering it) under
    `label` and `description`. Precondition: an admin asked. Conversations
    that picked a version no longer offered are answered by the serving
    one and say so (chat.model_choice)."""
    if version.kind != ModelVersion.Kind.POLICY:
        raise UserError("invalid_version", f"{version.name} is not a chat model, so chat cannot offer it.")
    if not isinstance(label, str) or not isinstance(description, str):
        raise UserError("invalid_version", "The display name and the description must be text.")
    label, description = " ".join(label.split()), description.strip()
    if len(label) > CHAT_LABEL_MAX_CHARS:
        raise UserError("invalid_version", f"The display name is at most {CHAT_LABEL_MAX_CHARS} characters.")
    if len(description) > DESCRIPTION_MAX_CHARS:
        raise UserError("invalid_version", f"The description is at most {DESCRIPTION_MAX_CHARS} characters.")
    version.chat_available = bool(available)
    version.chat_label = label
    version.description = description
    version.save(update_fields=["chat_available", "chat_label", "description"])
    return version
