def served_model_names() -> list[str]:
    """The name clients use for the chat model: its registered version, or
    the directory or hub id that CHAT_MODEL names."""
    from registry.selectors import chat_model_spec

    try:
        path, version = chat_model_spec()
    except LookupError:
        return []
    return [version.name if version else path]
