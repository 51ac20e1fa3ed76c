"""Reads of the arena: which versions can play, a match as the browser
sees it (versions hidden until the vote), and the leaderboard."""

from django.db.models import Q

from chat.models import Message
from chat.serializers import message_to_dict
from registry.models import ModelVersion
from registry.selectors import serving_model_version

from . import ratings
from .models import ArenaMatch

_OUTCOME_SCORE = {
    ArenaMatch.Outcome.A: 1.0,
    ArenaMatch.Outcome.B: 0.0,
    ArenaMatch.Outcome.TIE: 0.5,
    ArenaMatch.Outcome.BOTH_BAD: 0.5,
}


def arena_versions() -> list[ModelVersion]:
    """The chat models arena rounds draw from: the serving one and those an
    admin enabled after their smoke check passed (arena.eligibility)."""
    return list(
        ModelVersion.objects.filter(kind=ModelVersion.Kind.POLICY)
        .filter(Q(is_serving=True) | Q(arena_enabled=True))
        .order_by("name")
    )


def trial_versions() -> list[ModelVersion]:
    """The chat models an admin can try beside the serving one: any, which
    is how an admin sees a version before letting it into the arena."""
    return list(ModelVersion.objects.filter(kind=ModelVersion.Kind.POLICY, is_serving=False).order_by("name"))


def trial_serving_version() -> ModelVersion | None:
    return serving_model_version()


# What would tell the two models apart before the vote besides their words:
# the name, speed, token counts (a tokenizer's fingerprint).
_REVEALING_FIELDS = ("model", "tokens_per_second", "ttft_ms", "prompt_tokens", "completion_tokens")
BLIND_ERROR = "This model could not answer."


def answer_blind(data: dict) -> dict:
    """An answer as serialized (chat.serializers.message_to_dict), without
    what would name its model before the vote: the revealing fields, and
    the error's text (a context-length error states the model's context
    size). The arena socket relays answers through this too."""
    blind = {key: value for key, value in data.items() if key not in _REVEALING_FIELDS}
    if blind.get("error"):
        blind["error"] = BLIND_ERROR
    return blind


def _answer_to_dict(message: Message, *, revealed: bool) -> dict:
    data = message_to_dict(message)
    return data if revealed else answer_blind(data)


def match_to_dict(match: ArenaMatch) -> dict:
    """The match for its owner. The version names come only once the user
    has voted, or at once in a trial (the admin chose them)."""
    revealed = match.is_decided or match.kind == ArenaMatch.Kind.TRIAL
    return {
        "id": match.pk,
        "kind": match.kind,
        "question": message_to_dict(match.question),
        "answers": {
            "a": _answer_to_dict(match.answer_a, revealed=revealed),
            "b": _answer_to_dict(match.answer_b, revealed=revealed),
        },
        "outcome": match.outcome or None,
        "versions": (
            {"a": getattr(match.version_a, "name", None), "b": getattr(match.version_b, "name", None)}
            if revealed
            else None
        ),
    }


def arena_games() -> list[ratings.Game]:
    """Decided arena matches (never trials), oldest first, as games between
    version ids."""
    matches = (
        ArenaMatch.objects.filter(kind=ArenaMatch.Kind.ARENA, decided_at__isnull=False)
        .exclude(version_a__isnull=True)
        .exclude(version_b__isnull=True)
        .order_by("decided_at", "id")
        .values_list("version_a_id", "version_b_id", "outcome")
    )
    return [ratings.Game(a, b, _OUTCOME_SCORE[outcome]) for a, b, outcome in matches]


def leaderboard() -> list[dict]:
    """One row per version that has played, best Bradley-Terry score first:
    its games, wins, losses, draws (ties and "both bad"), win rate, Elo and
    Bradley-Terry score on Elo's scale with its 95% interval."""
    games = arena_games()
    if not games:
        return []
    elo = ratings.elo_ratings(games)
    strength = ratings.bradley_terry(games)
    errors = ratings.bradley_terry_standard_errors(games, strength)
    table = ratings.records(games)
    names = dict(ModelVersion.objects.filter(pk__in=list(table)).values_list("pk", "name"))
    rows = [
        {
            "version_id": pk,
            "version": names.get(pk, f"#{pk}"),
            "games": record.games,
            "wins": record.wins,
            "losses": record.losses,
            "draws": record.draws,
            "win_rate": record.win_rate,
            "elo": elo[pk],
            "bradley_terry": ratings.bt_to_elo_scale(strength[pk]),
            # Half the width of a normal 95% interval, in Elo points.
            "bradley_terry_ci95": 1.96 * ratings.log_strength_to_elo_points(errors[pk]),
        }
        for pk, record in table.items()
    ]
    rows.sort(key=lambda row: (-row["bradley_terry"], row["version"]))
    return rows


def trial_history(*, user, limit: int = 20) -> list[ArenaMatch]:
    return list(
        ArenaMatch.objects.filter(user=user, kind=ArenaMatch.Kind.TRIAL).select_related(
            "question", "version_a", "version_b"
        )[:limit]
    )
