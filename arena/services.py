"""Writes of the arena: a round's start (two answers through the chat's own
moderation and generation path), the user's vote, a stop."""

import random

from django.db import transaction
from django.utils import timezone

from chat import services as chat_services
from chat.models import Message, MessageStatus
from core.errors import UserError
from registry.models import ModelVersion

from . import selectors
from .errors import ArenaError
from .models import ArenaMatch

# A vote needs both answers written by their model, whole or stopped.
_JUDGEABLE = (MessageStatus.COMPLETE, MessageStatus.STOPPED)


def match_versions_draw() -> tuple[ModelVersion, ModelVersion]:
    """Two different chat models, in random order (the first goes left)."""
    versions = selectors.arena_versions()
    if len(versions) < 2:
        raise ArenaError(
            "not_enough_versions",
            "The arena needs at least two registered chat models; an admin has to let another into it on /models/.",
        )
    left, right = random.sample(versions, 2)
    return left, right


def _trial_versions(trial_version: ModelVersion) -> tuple[ModelVersion, ModelVersion]:
    serving = selectors.trial_serving_version()
    if serving is None:
        raise ArenaError(
            "no_serving_version", "No registered model version serves chat, so there is nothing to compare with."
        )
    if trial_version.kind != ModelVersion.Kind.POLICY or trial_version.pk == serving.pk:
        raise ArenaError("invalid_version", "Choose a chat model that is not the serving one.")
    return serving, trial_version


@transaction.atomic
def match_start(*, user, conversation, content: str, trial_version: ModelVersion | None = None) -> ArenaMatch:
    """Sends `content` as the first message of `conversation` (new, the
    user's) and queues an answer from each side's version. Input moderation
    runs once for both on commit and then starts both answers, exactly as
    for a chat message. A trial (an admin's choice of `trial_version`)
    puts the serving version on the left."""
    if trial_version is None:
        version_a, version_b = match_versions_draw()
        kind = ArenaMatch.Kind.ARENA
    else:
        version_a, version_b = _trial_versions(trial_version)
        kind = ArenaMatch.Kind.TRIAL
    try:
        # Both answers count against the user's limits, checked and taken
        # under their lock before anything is stored.
        conversation, question, answer_a = chat_services.message_send(
            user=user, conversation=conversation, parent=None, content=content, answers=2
        )
    except UserError as error:  # refused by a limit: told as the arena's own error
        raise ArenaError(error.code, error.message) from None
    answer_a.model_version = version_a
    answer_a.save(update_fields=["model_version"])
    answer_b = chat_services.answer_add_for_version(question=question, version=version_b)
    return ArenaMatch.objects.create(
        user=user,
        kind=kind,
        conversation=conversation,
        question=question,
        answer_a=answer_a,
        answer_b=answer_b,
        version_a=version_a,
        version_b=version_b,
    )


@transaction.atomic
def match_vote(*, match: ArenaMatch, outcome: str) -> ArenaMatch:
    """Stores the user's verdict, once. A decisive arena vote (A or B)
    becomes a preference pair in the labeling data, source "arena"; a tie,
    "both bad" and every trial vote are kept here and make no pair."""
    from labeling.from_chat import arena_pair_record

    if outcome not in ArenaMatch.Outcome.values:
        raise ArenaError("invalid_outcome", f"The vote must be one of: {', '.join(ArenaMatch.Outcome.values)}.")
    match = ArenaMatch.objects.select_for_update().get(pk=match.pk)
    if match.is_decided:
        raise ArenaError("already_decided", "You have already voted on this round.")
    answers = {m.pk: m for m in Message.objects.filter(pk__in=[match.answer_a_id, match.answer_b_id])}
    answer_a, answer_b = answers[match.answer_a_id], answers[match.answer_b_id]
    if any(a.status not in _JUDGEABLE for a in (answer_a, answer_b)):
        raise ArenaError("not_ready", "Both answers must be written (or stopped) by their model before you vote.")
    match.outcome = outcome
    match.decided_at = timezone.now()
    fields = ["outcome", "decided_at"]
    if match.kind == ArenaMatch.Kind.ARENA and outcome in (ArenaMatch.Outcome.A, ArenaMatch.Outcome.B):
        chosen, rejected = (answer_a, answer_b) if outcome == ArenaMatch.Outcome.A else (answer_b, answer_a)
        match.preference_task = arena_pair_record(
            match_ref=f"arena-match-{match.pk}",
            messages=[{"role": "user", "content": Message.objects.get(pk=match.question_id).content}],
            chosen=chosen,
            rejected=rejected,
            author=match.user,
        )
        fields.append("preference_task")
    match.save(update_fields=fields)
    return match


def match_stop(*, match: ArenaMatch) -> None:
    """Stops both answers; each keeps the text it had."""
    for answer in Message.objects.filter(pk__in=[match.answer_a_id, match.answer_b_id]):
        chat_services.generation_stop(message=answer)
