from core.errors import UserError


class ArenaError(UserError):
    """A request the arena user can fix or retry (same shape as UserError,
    so the arena socket answers both alike)."""
