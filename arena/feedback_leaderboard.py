"""The chat feedback leaderboard, beside the arena's: per model version,
the thumbs up and down users gave its chat answers (chat.Feedback), the
share that are up, and that share's 95% Wilson interval. Ordered by the
interval's low end, so a version with three thumbs up and none down does
not outrank one with 90 of 100: what the votes show for certain comes
first. Arena votes compare two answers to one prompt; thumbs judge one
answer alone, on whatever people asked in chat; the two can disagree."""

import math

from django.db.models import Count, Q

from chat.models import Feedback
from registry.models import ModelVersion

Z_95 = 1.959964


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a binomial share: unlike the normal
    approximation, it stays inside [0, 1] and is honest for few votes or
    a share near 0 or 1. (0, 1) when there are no trials."""
    if trials <= 0:
        return 0.0, 1.0
    share = successes / trials
    denominator = 1 + z * z / trials
    centre = (share + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials)) / denominator
    # At a share of 0 or 1 the bound is exactly 0 or 1; rounding would miss it.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


def feedback_leaderboard(*, version: ModelVersion | None = None) -> list[dict]:
    """One row per version whose chat answers were rated (answers whose
    version is unknown are left out): up, down, votes, up_share, low and
    high (its 95% interval), best low end first; `version` narrows it to
    that one."""
    rows = Feedback.objects.filter(message__model_version__isnull=False)
    if version is not None:
        rows = rows.filter(message__model_version=version)
    counts = (
        rows.values("message__model_version", "message__model_version__name")
        .annotate(
            up=Count("pk", filter=Q(rating=Feedback.Rating.UP)), down=Count("pk", filter=Q(rating=Feedback.Rating.DOWN))
        )
        .order_by()
    )
    table = []
    for row in counts:
        votes = row["up"] + row["down"]
        low, high = wilson_interval(row["up"], votes)
        table.append(
            {
                "version_id": row["message__model_version"],
                "version": row["message__model_version__name"],
                "up": row["up"],
                "down": row["down"],
                "votes": votes,
                "up_share": row["up"] / votes,
                "low": low,
                "high": high,
            }
        )
    table.sort(key=lambda row: (-row["low"], -row["up_share"], row["version"]))
    return table
