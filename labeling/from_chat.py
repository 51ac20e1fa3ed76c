"""What chat gives the labeling pool: prompts of users who opted in, the
answers they rated thumbs-down, the arena's picks as ready-ranked pairs,
and the answers they rated thumbs up or down as judged examples (KTO's
datasets, judged_answer_items).

Consent: the chat flows need the owner's `shares_chat_data`. A thumbs up or
down is explicit feedback on an answer, but it would carry the whole
conversation (the user's own words) to annotators or into a training set, so
it waits for the same consent as prompts; the Feedback row itself is kept
either way, as before. Arena rounds
are a data-collection feature the user was let into and told about on the
arena page, so their picks always flow.

Every function here is idempotent: calling it again for the same message,
feedback or match returns what the first call made.
"""

import hashlib

from django.db import IntegrityError, transaction
from django.db.models import F

from chat.context import awaits_moderation, is_client_turn, is_refused, passed_with_system_prompt
from chat.models import Feedback, Message, MessageStatus
from chat.selectors import message_branch
from core.errors import UserError
from moderation.models import ReviewItem

from .assignments import candidate_add
from .batches import batches
from .consensus import borda_points
from .models import Candidate, Consensus, Prompt, Task, TaskCandidate
from .services import chat_prompt_messages, prompt_create_from_chat
from .text import clean_messages, messages_hash

# Answers whose text is the model's own (a moderation template is not).
_SHAREABLE_ANSWER_STATUSES = (MessageStatus.COMPLETE, MessageStatus.STOPPED)


def _branch_is_clean(message: Message) -> bool:
    """Nothing on the branch from the root to `message` (a user's) was
    refused by moderation (chat.context.is_refused) or waits for it (a
    client's turn not yet judged), and the system prompt shared with it is
    the one input moderation passed beside it: annotators read only what
    moderation let through."""
    if not passed_with_system_prompt(message, message.conversation.system_prompt):
        return False
    return not any(is_refused(turn) or awaits_moderation(turn) for turn in message_branch(message))


def _is_arena(message: Message) -> bool:
    """Arena conversations give the pool their picks (arena_pair_record),
    not their prompts one by one."""
    return Message.objects.filter(pk=message.pk, conversation__arena_match__isnull=False).exists()


def chat_prompt_share(*, message: Message, **signal) -> Prompt | None:
    """The conversation up to an accepted user message, into the pool as a
    "chat" prompt, when its owner opted in and no turn on its branch was
    flagged or moderated; None otherwise. The receiver of chat's
    `user_message_accepted` (labeling.apps), sent once input moderation
    accepted the message."""
    owner = message.conversation.owner
    if (
        message.conversation.deleted_at is not None  # its owner deleted it, perhaps before moderation ran
        or message.role != Message.Role.USER
        or message.status != MessageStatus.ACCEPTED
        or not owner.shares_chat_data
        or _is_arena(message)
        or not _branch_is_clean(message)
    ):
        return None
    try:
        return prompt_create_from_chat(message=message)
    except UserError:  # a conversation the pool cannot hold (empty turns): nothing to share
        return None


@transaction.atomic
def disliked_answer_share(*, feedback: Feedback, **signal) -> Candidate | None:
    """A thumbs-down answer as a candidate for ranking on its prompt (the
    conversation up to the user turn it answers), linked to the feedback
    (Candidate.source_feedback) so its reasons travel with it; None when
    the owner did not opt in or the answer is not the model's own text. A
    second thumbs-down on the same answer returns the same candidate. The
    receiver of chat's `answer_disliked` (labeling.apps)."""
    feedback = (
        Feedback.objects.select_for_update().select_related("message__conversation__owner", "user").get(pk=feedback.pk)
    )
    answer = feedback.message
    shared = Candidate.objects.filter(source_feedback=feedback).first()
    if shared is not None:
        return shared
    if (
        feedback.rating != Feedback.Rating.DOWN
        or not feedback.user.shares_chat_data
        or answer.conversation.owner_id != feedback.user_id
        or answer.status not in _SHAREABLE_ANSWER_STATUSES
        or is_client_turn(answer)
        or not answer.content.strip()
        or _is_arena(answer)
    ):
        return None
    question = Message.objects.select_related("conversation__owner").get(pk=answer.parent_id)
    if question.status != MessageStatus.ACCEPTED or not _branch_is_clean(question):
        return None
    try:
        prompt = prompt_create_from_chat(message=question)
    except UserError:
        return None
    candidate = candidate_add(
        prompt=prompt,
        text=answer.content,
        origin=Candidate.Origin.MODEL,
        model_version=answer.model_version,
        sampling=answer.sampling,
        finish_reason=answer.finish_reason,
    )
    # The same text already in the pool keeps the feedback that brought it first.
    Candidate.objects.filter(pk=candidate.pk, source_feedback__isnull=True).update(source_feedback=feedback)
    candidate.refresh_from_db(fields=["source_feedback"])
    return candidate


def _judged_answers(filters: dict):
    """The feedback that may be a judged example, before the checks of a
    whole branch: given by the answer's owner, who shares their chats now
    (turning sharing off takes their ratings out of every later snapshot;
    frozen ones stay, as the settings page says), on a conversation they
    have not deleted, outside the arena (its picks are pairs), on a
    complete answer. Complete, not stopped by the user nor cut off at
    max_new_tokens: trainers end a completion with the end-of-turn token,
    so a cut answer rated up would teach stopping mid-sentence, and one
    rated down may be judged for being cut rather than for what it says."""
    feedback = Feedback.objects.filter(
        user__shares_chat_data=True,
        message__conversation__owner_id=F("user_id"),
        message__conversation__deleted_at__isnull=True,
        message__conversation__arena_match__isnull=True,
        message__role=Message.Role.ASSISTANT,
        message__status=MessageStatus.COMPLETE,
        message__parent__status=MessageStatus.ACCEPTED,
    ).exclude(message__finish_reason="length")
    if "created_from" in filters:
        feedback = feedback.filter(created_at__date__gte=filters["created_from"])
    if "created_to" in filters:
        feedback = feedback.filter(created_at__date__lte=filters["created_to"])
    if "model_version" in filters:
        feedback = feedback.filter(message__model_version_id=filters["model_version"])
    return feedback.select_related("message__conversation", "message__parent__conversation", "message__model_version")


def judged_answer_items(*, filters: dict) -> list[dict]:
    """The chat answers users rated, as snapshot rows of a FEEDBACK dataset,
    oldest rating first: the conversation up to the answer (`messages`, as
    the pool's chat prompts hold it), the answer (`completion`), `label`
    true for a thumbs up, and the reasons ticked (the comment, free text
    that may name people, stays in chat). Filters (clean): created_from and
    created_to, the days the ratings were first given; model_version, the
    answers of one version (KTO learns best from its own policy's answers).

    Only what moderation let through and nobody disputes: an answer output
    moderation flagged (its text is the template, or harmful), one a user
    reported or annotators flagged unless a moderator overturned it, and an
    answer on a branch with a refused or unjudged turn (a flagged prompt
    above it) are left out, whatever their rating. Not kept as undesirable
    examples: a thumbs up must never make harmful text desirable, a
    moderated answer's text is the safety template (KTO would learn to
    avoid refusing), and a dataset leaves the app with whoever downloads
    it, where harmful text has no place; refusals are taught with
    moderation's own data, not here."""
    feedback = list(_judged_answers(filters).order_by("created_at", "pk"))
    disputed = set()
    for some in batches([f.message_id for f in feedback]):
        disputed.update(
            ReviewItem.objects.filter(message_id__in=some)
            .exclude(status=ReviewItem.Status.OVERTURNED)
            .values_list("message_id", flat=True)
        )
    rows = []
    for item in feedback:
        answer, question = item.message, item.message.parent
        if (
            answer.pk in disputed
            or is_refused(answer)
            or is_client_turn(answer)
            or not answer.content.strip()
            or not _branch_is_clean(question)
        ):
            continue
        try:
            messages = chat_prompt_messages(message=question)
        except UserError:  # a conversation a prompt cannot be (empty turns)
            continue
        rows.append(
            {
                "id": f"feedback-{item.pk}",
                "message_id": answer.pk,
                "model_version": answer.model_version.name if answer.model_version else None,
                "created_at": item.created_at.isoformat(),
                "messages": messages,
                "completion": answer.content,
                "label": item.rating == Feedback.Rating.UP,
                "reasons": item.reasons,
            }
        )
    return rows


def _arena_fingerprint(match_ref: str) -> str:
    return hashlib.sha256(f"arena:{match_ref}".encode()).hexdigest()


@transaction.atomic
def arena_pair_record(
    *, match_ref: str, messages: list[dict], chosen: Message, rejected: Message, author=None
) -> Task | None:
    """An arena pick as a two-candidate ranking (chosen above rejected) on
    an "arena" prompt, its consensus the one vote (method "arena"). It asks
    for no annotation, so it never reaches an annotator's queue; and since
    one user's vote, perhaps an adversarial one, is not a finished ranking,
    preference snapshots take it only when they ask for arena votes
    (`arena_votes`), then as any other pair, margin 1, `group_id` the task.
    `match_ref` names the match; the same match recorded twice returns the
    first task. None when both answers have the same text (no preference
    to learn)."""
    fingerprint = _arena_fingerprint(match_ref)
    existing = Task.objects.filter(import_fingerprint=fingerprint).first()
    if existing is not None:
        return existing
    try:
        messages = clean_messages(messages)
    except ValueError as error:
        raise UserError("invalid_prompt", f"This arena prompt cannot be a prompt: {error}.") from None
    prompt, _ = Prompt.objects.get_or_create(
        content_hash=messages_hash(messages),
        defaults={"messages": messages, "source": Prompt.Source.ARENA, "source_ref": match_ref, "author": author},
    )
    better, worse = (
        candidate_add(
            prompt=prompt,
            text=answer.content,
            origin=Candidate.Origin.MODEL,
            model_version=answer.model_version,
            sampling=answer.sampling,
            finish_reason=answer.finish_reason,
        )
        for answer in (chosen, rejected)
    )
    if better.pk == worse.pk:
        return None
    try:
        with transaction.atomic():
            task = Task.objects.create(
                kind=Task.Kind.RANKING, prompt=prompt, required_annotations=0, import_fingerprint=fingerprint
            )
    except IntegrityError:  # recorded by a concurrent call meanwhile
        return Task.objects.get(import_fingerprint=fingerprint)
    TaskCandidate.objects.bulk_create(
        [TaskCandidate(task=task, candidate=better, position=0), TaskCandidate(task=task, candidate=worse, position=1)]
    )
    groups = [[better.pk], [worse.pk]]
    Consensus.objects.create(
        task=task,
        method=Consensus.Method.ARENA,
        groups=groups,
        scores={str(pk): points for pk, points in borda_points(groups).items()},
    )
    return task
