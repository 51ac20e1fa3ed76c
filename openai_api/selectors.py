def served_model_names() -> list[str]:
    """The name clients use for the chat model: its registered version, or
    the directory or hub id that CHAT_MODEL names."""
    from django.conf import settings

    from registry.selectors import chat_model_spec

    if settings.GENERATION_BACKEND == "openai":
        return [settings.OPENAI_MODEL or settings.OPENAI_BASE_URL]

    try:
        path, version = chat_model_spec()
    except LookupError:
        return []
    return [version.name if version else path]
