def served_model_names() -> list[str]:
    """The names clients use for the chat models, the default first: the
    serving model (its registered version, or the directory or hub id that
    CHAT_MODEL names, or OPENAI_MODEL on remote servers), then the versions
    admins offer in chat's model picker (registry.chat_versions), so /v1
    and the picker choose among the same models."""
    from django.conf import settings

    from registry.chat_versions import chat_versions_offered
    from registry.selectors import chat_model_spec

    if settings.GENERATION_BACKEND == "openai":
        from engine.backends.remote import UNNAMED_REMOTE_MODEL

        default = settings.OPENAI_MODEL or UNNAMED_REMOTE_MODEL
        default_version = None
    else:
        try:
            path, default_version = chat_model_spec()
        except LookupError:
            return []
        default = default_version.name if default_version else path
    offered = [
        version.name
        for version in chat_versions_offered()
        if version.name != default
        and not (default_version is not None and version.pk == default_version.pk)
        and not (settings.GENERATION_BACKEND == "openai" and version.is_serving)
    ]
    return [default, *offered]
