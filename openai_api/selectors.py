def served_model_names() -> list[str]:
    """The name clients use for the chat model: its registered version, or
    the directory or hub id that CHAT_MODEL names."""
    from django.conf import settings

    from registry.selectors import chat_model_spec

    if settings.GENERATION_BACKEND == "openai":
        from engine.backends.remote import UNNAMED_REMOTE_MODEL

        return [settings.OPENAI_MODEL or UNNAMED_REMOTE_MODEL]

    try:
        path, version = chat_model_spec()
    except LookupError:
        return []
    return [version.name if version else path]
