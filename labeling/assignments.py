"""Candidates into tasks, and tasks to annotators: the leases, the work
submitted on them (rankings, demonstrations) and skips.

Invariants kept here: an annotator is never given a task on a prompt they
wrote or already worked on, and a task never has more live or finished
assignments than it asks for.
"""

import random
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import UserError
from core.text import clean_text

from .answer_tasks import follow_up_tasks_create
from .batches import BATCH_SIZE
from .consensus_store import consensus_update
from .demonstration_moderation import demonstration_moderation_request
from .gold import gold_answer_record, gold_tasks_open_to, is_held
from .models import (
    CANDIDATE_FLAGS,
    MAX_CANDIDATES,
    MIN_CANDIDATES,
    Assignment,
    Candidate,
    Demonstration,
    GoldItem,
    Prompt,
    Ranking,
    Task,
    TaskCandidate,
)
from .routing import reward_margins_request, routing_order
from .selectors import TAKEN_STATES, tasks_open_to
from .text import clean_answer, text_hash

# How many open tasks task_assign_next tries before it gives up on a busy
# pool (each try can lose its task to another annotator).
ASSIGN_ATTEMPTS = 20


# --- Candidates and tasks ---------------------------------------------------


def candidate_add(
    *,
    prompt: Prompt,
    text: str,
    origin: str,
    model_version=None,
    demonstration: Demonstration | None = None,
    sampling: dict | None = None,
    finish_reason: str = "",
) -> Candidate:
    """A candidate answer to `prompt`; the same text (normalized) already
    there is returned as it is. `finish_reason`: why the model stopped
    writing it (Candidate.finish_reason), where known."""
    text = clean_text(text)
    candidate, _ = Candidate.objects.get_or_create(
        prompt=prompt,
        text_hash=text_hash(text),
        defaults={
            "text": text,
            "origin": origin,
            "model_version": model_version,
            "demonstration": demonstration,
            "sampling": sampling or {},
            "finish_reason": finish_reason,
        },
    )
    return candidate


def task_create_demonstration(*, prompt: Prompt, required_annotations: int | None = None) -> Task:
    return Task.objects.create(
        kind=Task.Kind.DEMONSTRATION,
        prompt=prompt,
        required_annotations=required_annotations or settings.LABELING_ANNOTATIONS_PER_ITEM,
    )


@transaction.atomic
def task_create_ranking(
    *, prompt: Prompt, candidates: list[Candidate], required_annotations: int | None = None
) -> Task:
    """A task to rank `candidates` (MIN_CANDIDATES..MAX_CANDIDATES distinct
    answers to `prompt`), shown in an order shuffled once here."""
    if len({c.pk for c in candidates}) != len(candidates) or any(c.prompt_id != prompt.pk for c in candidates):
        raise UserError("invalid_candidates", "The candidates must be distinct answers to this prompt.")
    if not MIN_CANDIDATES <= len(candidates) <= MAX_CANDIDATES:
        raise UserError(
            "invalid_candidates",
            f"A ranking needs {MIN_CANDIDATES} to {MAX_CANDIDATES} candidates, not {len(candidates)}.",
        )
    task = Task.objects.create(
        kind=Task.Kind.RANKING,
        prompt=prompt,
        required_annotations=required_annotations or settings.LABELING_ANNOTATIONS_PER_ITEM,
    )
    order = random.sample(candidates, len(candidates))
    TaskCandidate.objects.bulk_create(
        [TaskCandidate(task=task, candidate=candidate, position=i) for i, candidate in enumerate(order)]
    )
    reward_margins_request(task_ids=[task.pk])
    return task


def demonstration_tasks_create(*, prompts: list[Prompt], required_annotations: int | None = None) -> int:
    """A demonstration task for each prompt that has none yet; returns how
    many were made (asking twice makes no second task)."""
    have = set(
        Task.objects.filter(kind=Task.Kind.DEMONSTRATION, prompt__in=prompts).values_list("prompt_id", flat=True)
    )
    tasks = [
        Task(
            kind=Task.Kind.DEMONSTRATION,
            prompt=prompt,
            required_annotations=required_annotations or settings.LABELING_ANNOTATIONS_PER_ITEM,
        )
        for prompt in dict.fromkeys(prompts)
        if prompt.pk not in have
    ]
    Task.objects.bulk_create(tasks, batch_size=BATCH_SIZE)
    return len(tasks)


# --- Leases and the work submitted on them ----------------------------------


def assignments_expire() -> int:
    """Marks leases past their time expired, which gives their tasks' places
    back to the pool. Returns how many."""
    return Assignment.objects.filter(state=Assignment.State.LEASED, lease_expires_at__lte=timezone.now()).update(
        state=Assignment.State.EXPIRED, finished_at=timezone.now()
    )


def task_assign_next(*, annotator, kind: str | None = None, rng: random.Random | None = None) -> Assignment | None:
    """The annotator's live lease (of `kind`, when given) if they hold one,
    else a new lease of LABELING_LEASE_MINUTES on the next open task; None
    when no task is open to them.

    Open to them: it still needs annotations, its prompt is not theirs, and
    they have had no assignment on any task of that prompt (so they never
    rank their own demonstration either: writing it was such an
    assignment). Which one: a gold item at LABELING_GOLD_RATE when one is
    open to them, else a real task in labeling.routing's order; an
    annotator held for review gets gold items only (labeling.gold). `rng`
    draws those chances (a seeded one in tests and the benchmark). The
    task row is locked while its places are counted, so two annotators
    cannot take its last place."""
    rng = rng or random.Random()
    with transaction.atomic():
        assignments_expire()
        live = Assignment.objects.filter(annotator=annotator, state=Assignment.State.LEASED).select_related("task")
        if kind:
            live = live.filter(task__kind=kind)
        if current := live.order_by("id").first():
            return current
        held = is_held(annotator)
        if held or rng.random() < settings.LABELING_GOLD_RATE:
            if gold := _lease_gold(annotator, kind, rng):
                return gold
            if held:
                return None
        open_tasks = tasks_open_to(annotator=annotator, kind=kind).filter(gold__isnull=True)
        for task_id in routing_order(open_tasks, limit=ASSIGN_ATTEMPTS, rng=rng):
            task = Task.objects.select_for_update(skip_locked=True).filter(pk=task_id).first()
            if task is None or task.assignments.filter(state__in=TAKEN_STATES).count() >= task.required_annotations:
                continue
            return _lease(task, annotator)
    return None


def _lease(task: Task, annotator) -> Assignment:
    return Assignment.objects.create(
        task=task,
        annotator=annotator,
        lease_expires_at=timezone.now() + timedelta(minutes=settings.LABELING_LEASE_MINUTES),
    )


def _lease_gold(annotator, kind: str | None, rng: random.Random) -> Assignment | None:
    """A lease on a gold item picked at random among those open to the
    annotator. A gold item takes any number of annotators, so no place is
    counted; each annotator still gets it once (the assignment's
    constraint, and the seen-prompt rule of gold_tasks_open_to)."""
    ids = list(gold_tasks_open_to(annotator=annotator, kind=kind).values_list("id", flat=True))
    if not ids:
        return None
    return _lease(Task.objects.get(pk=rng.choice(ids)), annotator)


def assignment_lock_for_finish(assignment: Assignment) -> Assignment:
    """The assignment, locked, if its work can still be accepted: its lease
    is live, or it expired but nobody has taken its place since."""
    assignment = Assignment.objects.select_for_update().select_related("task", "task__prompt").get(pk=assignment.pk)
    if assignment.state == Assignment.State.LEASED:
        return assignment
    if assignment.state == Assignment.State.EXPIRED:
        task = Task.objects.select_for_update().get(pk=assignment.task_id)
        if task.assignments.filter(state__in=TAKEN_STATES).count() < task.required_annotations:
            return assignment
        raise UserError("lease_expired", "The time for this task ran out and someone else has taken it.")
    raise UserError("finished", f"This task was already {assignment.get_state_display().lower()}.")


def assignment_finish(assignment: Assignment, state: str, skip_reason: str = "") -> None:
    """Closes an assignment locked by assignment_lock_for_finish; every kind
    of task's submit ends through these two (labeling.answer_labels and
    labeling.user_replies too)."""
    assignment.state = state
    assignment.finished_at = timezone.now()
    assignment.skip_reason = skip_reason
    assignment.save(update_fields=["state", "finished_at", "skip_reason"])


def _clean_ranking(task_candidates: set[int], groups, flags) -> tuple[list[list[int]], dict[str, list[str]]]:
    """Raises ValueError unless `groups` orders exactly the task's
    candidates and `flags` names known flags on them."""
    if not isinstance(groups, list) or not all(isinstance(group, list) and group for group in groups):
        raise ValueError("the ranking must be a list of non-empty groups")
    ids = [pk for group in groups for pk in group]
    if any(isinstance(pk, bool) or not isinstance(pk, int) for pk in ids):
        raise ValueError("candidates are given by their ids")
    if len(ids) != len(set(ids)) or set(ids) != task_candidates:
        raise ValueError("the ranking must place every candidate of the task exactly once")
    if not isinstance(flags, dict):
        raise ValueError("flags must map candidate ids to lists of flags")
    clean_flags = {}
    for key, names in flags.items():
        if str(key) not in {str(pk) for pk in task_candidates}:
            raise ValueError(f"flags name candidate {key}, which is not in this task")
        if not isinstance(names, list) or any(name not in CANDIDATE_FLAGS for name in names):
            raise ValueError(f"unknown flag on candidate {key}; known: {', '.join(CANDIDATE_FLAGS)}")
        if names:
            clean_flags[str(key)] = sorted(set(names))
    return [sorted(group) for group in groups], clean_flags


def _demonstration_add(*, assignment: Assignment, content: str) -> Demonstration:
    """Stores a person's answer, has input moderation judge it once stored
    (no snapshot takes it before: labeling.demonstration_moderation) and
    offers it as a candidate for future rankings of the prompt."""
    content = clean_answer(content)
    demonstration = Demonstration.objects.create(
        prompt=assignment.task.prompt, author=assignment.annotator, assignment=assignment, content=content
    )
    demonstration_moderation_request(demonstration)
    candidate_add(
        prompt=assignment.task.prompt, text=content, origin=Candidate.Origin.DEMONSTRATION, demonstration=demonstration
    )
    return demonstration


@transaction.atomic
def ranking_submit(
    *,
    assignment: Assignment,
    groups: list[list[int]],
    none_acceptable: bool = False,
    better_answer: str = "",
    flags: dict | None = None,
) -> Ranking:
    """Stores the annotator's ranking (groups of candidate ids, best first,
    ties in one group), then updates the task's consensus and the agreement
    of everyone who ranked it. A better answer becomes a demonstration.
    On a gold item it is scored instead (labeling.gold)."""
    assignment = assignment_lock_for_finish(assignment)
    if assignment.task.kind != Task.Kind.RANKING:
        raise UserError("wrong_kind", "This task asks for an answer, not a ranking.")
    task_candidates = set(assignment.task.task_candidates.values_list("candidate_id", flat=True))
    try:
        groups, flags = _clean_ranking(task_candidates, groups, flags or {})
    except ValueError as error:
        raise UserError("invalid_ranking", f"The ranking is not valid: {error}.") from None
    ranking = Ranking.objects.create(
        assignment=assignment,
        groups=groups,
        none_acceptable=bool(none_acceptable),
        better_answer=clean_answer(better_answer),
        flags=flags,
    )
    assignment_finish(assignment, Assignment.State.SUBMITTED)
    # A ranking of a gold item is a test of its annotator: scored, and
    # nothing of it (order, better answer) enters the data.
    if gold := GoldItem.objects.filter(task=assignment.task).first():
        gold_answer_record(ranking=ranking, gold=gold)
        return ranking
    if better_answer.strip():
        _demonstration_add(assignment=assignment, content=better_answer)
    consensus_update(task=assignment.task)
    follow_up_tasks_create(ranking_task=assignment.task)
    return ranking


@transaction.atomic
def demonstration_submit(*, assignment: Assignment, content: str) -> Demonstration:
    assignment = assignment_lock_for_finish(assignment)
    if assignment.task.kind != Task.Kind.DEMONSTRATION:
        raise UserError("wrong_kind", "This task asks for a ranking, not an answer.")
    if not content.strip():
        raise UserError("empty", "The answer is empty.")
    demonstration = _demonstration_add(assignment=assignment, content=content)
    assignment_finish(assignment, Assignment.State.SUBMITTED)
    return demonstration


@transaction.atomic
def assignment_skip(*, assignment: Assignment, reason: str) -> Assignment:
    """Gives the task back for someone else; the reason is kept for the
    admins (an unclear prompt, one needing expertise)."""
    if not reason.strip():
        raise UserError("reason_required", "Say why you skip this task.")
    assignment = assignment_lock_for_finish(assignment)
    assignment_finish(assignment, Assignment.State.SKIPPED, skip_reason=clean_text(reason).strip()[:500])
    return assignment
