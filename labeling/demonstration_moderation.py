"""Input moderation of what annotators write: a demonstration (a
demonstration task's answer, or the better answer a ranker wrote) becomes
SFT data and a candidate others rank, so the pipeline that judges chat
users' messages judges it too, and a flagged one goes to the moderators.

The database is the source of truth, as in chat.dispatch: a demonstration is
stored `pending` and its task sent once the transaction commits; the
moderation worker judges it (`passed` or `flagged`, only while pending, so a
task delivered twice judges once); housekeeping sends again the task the
broker lost. No snapshot takes a demonstration that is pending, or flagged
unless a moderator overturned its item (`demonstrations_usable`), and a
preference snapshot never makes one `chosen` (`candidates_held_back`).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.broker import broker_messages, task_send
from core.text import clean_text
from moderation.flags import review_item_for_candidate
from moderation.models import ReviewItem
from moderation.pipeline import moderate

from .models import Candidate, Demonstration
from .text import text_hash

logger = logging.getLogger(__name__)

# The moderation worker's queue (CELERY_TASK_ROUTES says the same); sent to
# and searched by name here.
QUEUE = "moderation"


def demonstration_moderation_task_id(demonstration_id: int) -> str:
    return f"labeling-moderate-demonstration-{demonstration_id}"


def demonstration_moderation_dispatch(demonstration_id: int) -> bool:
    """Sends the demonstration's moderation task; False (logged) when the
    broker cannot be reached: it stays pending, and housekeeping sends it."""
    from .tasks import demonstration_moderate_task

    return task_send(
        demonstration_moderate_task,
        (demonstration_id,),
        task_id=demonstration_moderation_task_id(demonstration_id),
        queue=QUEUE,
        what=f"Demonstration {demonstration_id}",
    )


def demonstration_moderation_request(demonstration: Demonstration) -> None:
    """Has moderation judge a demonstration just stored, once its
    transaction commits (a rollback sends nothing)."""
    transaction.on_commit(lambda: demonstration_moderation_dispatch(demonstration.pk))


def demonstration_moderate(*, demonstration_id: int) -> str | None:
    """The moderation worker's part: judges a pending demonstration as input
    moderation judges a user's message and stores the outcome; a flagged one
    goes to the moderators' queue. Returns the new state, or None when there
    was nothing to judge (judged already, or deleted)."""
    demonstration = (
        Demonstration.objects.filter(pk=demonstration_id, moderation=Demonstration.Moderation.PENDING)
        .select_related("author")
        .first()
    )
    if demonstration is None:
        return None
    verdict = moderate(demonstration.content, "user")
    state = Demonstration.Moderation.FLAGGED if verdict.flagged else Demonstration.Moderation.PASSED
    with transaction.atomic():
        pending = Demonstration.objects.select_for_update().filter(
            pk=demonstration.pk, moderation=Demonstration.Moderation.PENDING
        )
        if not pending.exists():
            return None
        item = None
        if verdict.flagged:
            author = demonstration.author.username if demonstration.author else "(deleted user)"
            # The candidate that carries its text, to show the prompt it answers
            # (one the same text made earlier, when a model wrote it first).
            candidate = Candidate.objects.filter(
                prompt_id=demonstration.prompt_id, text_hash=text_hash(clean_text(demonstration.content))
            ).first()
            item = review_item_for_candidate(
                candidate=candidate,
                text=demonstration.content,
                verdict=verdict,
                reason=f"An answer annotator {author} wrote (demonstration #{demonstration.pk})",
            )
        pending.update(moderation=state, review_item=item)
    logger.info("Demonstration %s %s by input moderation", demonstration.pk, state)
    return state


def demonstrations_usable(queryset: QuerySet) -> QuerySet:
    """The demonstrations of `queryset` a snapshot may take: judged and
    passed (or written before moderation read them), or flagged and then
    overturned by a moderator."""
    return queryset.filter(
        Q(moderation__in=[Demonstration.Moderation.PASSED, Demonstration.Moderation.UNCHECKED])
        | Q(moderation=Demonstration.Moderation.FLAGGED, review_item__status=ReviewItem.Status.OVERTURNED)
    )


def candidates_held_back(candidate_ids) -> set[int]:
    """Of `candidate_ids`, the people's answers moderation has not let
    through (pending, or flagged and not overturned): a preference snapshot
    never makes them `chosen`."""
    usable = demonstrations_usable(Demonstration.objects.all()).values("pk")
    return set(
        Candidate.objects.filter(pk__in=list(candidate_ids), demonstration__isnull=False)
        .exclude(demonstration__in=usable)
        .values_list("pk", flat=True)
    )


def demonstrations_redispatch_lost() -> list[int]:
    """Sends again the moderation task of every demonstration pending for
    over CHAT_DISPATCH_GRACE_SECONDS whose task is neither waiting in the
    queue nor held by a worker. Returns their ids."""
    cutoff = timezone.now() - timedelta(seconds=settings.CHAT_DISPATCH_GRACE_SECONDS)
    pending = list(
        Demonstration.objects.filter(moderation=Demonstration.Moderation.PENDING, created_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    )
    if not pending:
        return []
    waiting, delivered = broker_messages(QUEUE)
    lost = []
    for demonstration_id in pending:
        task_id = demonstration_moderation_task_id(demonstration_id)
        if task_id not in waiting and task_id not in delivered:
            logger.warning(
                "Demonstration %s waits for a moderation task the broker lost; sending it again", demonstration_id
            )
            demonstration_moderation_dispatch(demonstration_id)
            lost.append(demonstration_id)
    return lost
