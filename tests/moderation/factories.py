"""Plain helpers for moderation tests (fixtures live in conftest)."""


def make_verdict(*categories: str, layer: str = "rules", score: float = 0.9):
    """A flagged verdict naming `categories` (none: not flagged)."""
    from moderation.categories import CATEGORIES
    from moderation.pipeline import Verdict

    return Verdict(
        flagged=bool(categories),
        score=score if categories else 0.0,
        categories={category: category in categories for category in CATEGORIES},
        category_scores={category: score if category in categories else 0.01 for category in CATEGORIES},
        layer=layer if categories else None,
    )
