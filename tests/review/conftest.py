# The review queue's items are moderation's: its fixtures make them here too.
from ..moderation.conftest import exchange, flag, fresh_rules, item  # noqa: F401
