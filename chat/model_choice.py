"""Which model writes a conversation's answers: the picker's choices (the
serving model, the default, and the versions admins offer in chat:
registry.chat_versions), the user's pick, checked here on the server, and
the version each new answer is queued for. A conversation whose pick is no
longer offered (or was deleted) is answered by the serving model, and its
page says so (static/js/chat/model_picker.js)."""

from core.errors import UserError
from registry.chat_versions import chat_version_is_offered, chat_version_label, chat_versions_offered
from registry.models import ModelVersion
from registry.selectors import chat_model_spec

from .models import Conversation


def _default_version() -> ModelVersion | None:
    try:
        return chat_model_spec()[1]
    except LookupError:  # nothing serves yet: the first answer says so
        return None


def _choice(choice_id: int | None, version: ModelVersion) -> dict:
    return {
        "id": choice_id,
        "version_id": version.pk,
        "name": version.name,
        "label": chat_version_label(version),
        "description": version.description,
    }


def chat_model_choices() -> list[dict]:
    """The picker's entries, the default (id None: whatever serves when
    the answer is written; `version_id` names it) first, each with what the
    picker shows."""
    default = _default_version()
    if default is None:
        first = {"id": None, "version_id": None, "name": "", "label": "Default model", "description": ""}
    else:
        first = _choice(None, default)
    offered = [_choice(v.pk, v) for v in chat_versions_offered() if default is None or v.pk != default.pk]
    return [first, *offered]


def chat_model_clean(raw) -> ModelVersion | None:
    """The version a picker's value names: None (null, or the serving
    version's own id) for the default, else a version chat offers; raises
    UserError for anything else, so nothing is stored."""
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise UserError("invalid_model", "Choose a model from the list.")
    version = ModelVersion.objects.filter(pk=raw).first()
    default = _default_version()
    if version is not None and default is not None and version.pk == default.pk:
        return None
    if version is None or not chat_version_is_offered(version):
        raise UserError("invalid_model", "That model is not offered in chat; choose one from the list.")
    return version


def conversation_model_pick(*, conversation: Conversation, raw) -> Conversation:
    """Sets the model for the conversation's next answers (those written
    already keep the model that wrote them)."""
    conversation.model_version = chat_model_clean(raw)
    conversation.save(update_fields=["model_version", "updated_at"])
    return conversation


def answer_model_version(conversation: Conversation) -> ModelVersion | None:
    """The version a new answer in `conversation` is queued for: its pick
    while chat offers it, else None, which the worker reads as the serving
    version (chat.worker)."""
    version = conversation.model_version
    if version is None or not chat_version_is_offered(version):
        return None
    return version


def chat_model_named(name: str) -> ModelVersion | None:
    """The version /v1's `model` names (openai_api): None for the default
    (an empty name, or one no offered version has: the view has refused
    any name /v1/models does not list)."""
    if not name:
        return None
    version = ModelVersion.objects.filter(name=name, kind=ModelVersion.Kind.POLICY, chat_available=True).first()
    default = _default_version()
    if version is None or (default is not None and version.pk == default.pk):
        return None
    return version
