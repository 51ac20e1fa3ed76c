from chat.errors import ChatError


class ArenaError(ChatError):
    """A request the arena user can fix or retry (same shape as ChatError,
    so the arena socket answers both alike)."""
