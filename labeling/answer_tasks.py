"""Tasks about one answer: label it (labeling.answer_labels) or write the
user's next turn after it (labeling.user_replies). Made by admins from
ranked items, or after a ranking's consensus is in, for its best answers
(LABELING_LABEL_TASKS_PER_RANKING, LABELING_USER_REPLY_TASKS_PER_RANKING).

An answer has at most one task of each kind; the answer is the task's one
TaskCandidate, so the leases, skips and places of tasks work unchanged.
"""

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q

from .batches import BATCH_SIZE, batches
from .models import FLAG_HARMFUL, Assignment, Candidate, Consensus, Task, TaskCandidate

ANSWER_TASK_KINDS = (Task.Kind.LABEL, Task.Kind.USER_REPLY)


def user_turns(messages: list[dict]) -> int:
    return sum(1 for message in messages if message["role"] == "user")


def _can_be_replied_to(candidate: Candidate) -> bool:
    """A conversation grows from an answer only when it is whole (not cut
    off at max_new_tokens) and the conversation has room for another user
    turn (LABELING_USER_REPLY_MAX_TURNS)."""
    return (
        candidate.finish_reason != "length"
        and user_turns(candidate.prompt.messages) < settings.LABELING_USER_REPLY_MAX_TURNS
    )


def answer_tasks_create(*, kind: str, candidates: list[Candidate], required_annotations: int | None = None) -> int:
    """A task of `kind` (label or user reply) on each answer that has none
    of that kind yet and, for a reply, can be replied to; returns how many
    were made (asking twice makes no second task)."""
    if kind not in ANSWER_TASK_KINDS:
        raise ValueError(f"{kind} is not a task about one answer")
    candidates = list({c.pk: c for c in candidates}.values())
    if kind == Task.Kind.USER_REPLY:
        candidates = [c for c in candidates if _can_be_replied_to(c)]
    have = set(
        TaskCandidate.objects.filter(task__kind=kind, candidate__in=candidates).values_list("candidate_id", flat=True)
    )
    fresh = [c for c in candidates if c.pk not in have]
    with transaction.atomic():
        tasks = Task.objects.bulk_create(
            [
                Task(
                    kind=kind,
                    prompt_id=candidate.prompt_id,
                    required_annotations=required_annotations or settings.LABELING_ANNOTATIONS_PER_ITEM,
                )
                for candidate in fresh
            ],
            batch_size=BATCH_SIZE,
        )
        TaskCandidate.objects.bulk_create(
            [
                TaskCandidate(task=task, candidate=candidate, position=0)
                for task, candidate in zip(tasks, fresh, strict=True)
            ],
            batch_size=BATCH_SIZE,
        )
    return len(tasks)


def task_answer(*, task: Task) -> Candidate:
    """The answer a label or user reply task is about."""
    return task.task_candidates.select_related("candidate", "candidate__prompt").get().candidate


def ranked_answers(*, consensus: Consensus, count: int, kind: str) -> list[int]:
    """The ids of the consensus's `count` best answers, best first (ties by
    score, then id). A reply never continues an answer the consensus
    flagged harmful, and an item found to have no acceptable answer gives
    none to continue."""
    if kind == Task.Kind.USER_REPLY and consensus.none_acceptable:
        return []
    order = [
        pk
        for group in consensus.groups
        for pk in sorted(group, key=lambda pk: (-consensus.scores.get(str(pk), 0.0), pk))
    ]
    if kind == Task.Kind.USER_REPLY:
        order = [pk for pk in order if FLAG_HARMFUL not in consensus.flags.get(str(pk), [])]
    return order[:count]


def _finished_rankings():
    """Ranking items whose consensus is in: every annotation they asked for
    (imported pairs ask for none); single arena votes are left out, as
    preference snapshots leave them out."""
    return (
        Consensus.objects.filter(task__kind=Task.Kind.RANKING, num_rankings__gte=F("task__required_annotations"))
        .exclude(method=Consensus.Method.ARENA)
        .select_related("task")
    )


def follow_up_tasks_create(*, ranking_task: Task) -> int:
    """Once a ranking's consensus is in, label tasks for its best
    LABELING_LABEL_TASKS_PER_RANKING answers and reply tasks for its best
    LABELING_USER_REPLY_TASKS_PER_RANKING; returns how many were made
    (called after every ranking, it makes each once)."""
    consensus = _finished_rankings().filter(task=ranking_task).first()
    if consensus is None:
        return 0
    made = 0
    for kind, count in (
        (Task.Kind.LABEL, settings.LABELING_LABEL_TASKS_PER_RANKING),
        (Task.Kind.USER_REPLY, settings.LABELING_USER_REPLY_TASKS_PER_RANKING),
    ):
        if count > 0:
            ids = ranked_answers(consensus=consensus, count=count, kind=kind)
            candidates = list(Candidate.objects.filter(pk__in=ids).select_related("prompt"))
            made += answer_tasks_create(kind=kind, candidates=candidates)
    return made


def ranked_items_answer_tasks_create(
    *, kind: str, items: int, per_item: int, required_annotations: int | None = None
) -> tuple[int, int]:
    """Tasks of `kind` for the best `per_item` answers of up to `items`
    finished ranking items, oldest first, that still have answers without
    one; returns (tasks made, items used)."""
    if kind not in ANSWER_TASK_KINDS:
        raise ValueError(f"{kind} is not a task about one answer")
    chosen: list[int] = []
    used = 0
    for some in batches(list(_finished_rankings().order_by("task_id"))):
        wanted = {c.task_id: ranked_answers(consensus=c, count=per_item, kind=kind) for c in some}
        all_ids = [pk for ids in wanted.values() for pk in ids]
        have = set(
            TaskCandidate.objects.filter(task__kind=kind, candidate_id__in=all_ids).values_list(
                "candidate_id", flat=True
            )
        )
        candidates = Candidate.objects.filter(pk__in=all_ids).select_related("prompt").in_bulk()
        for consensus in some:
            missing = [
                pk
                for pk in wanted[consensus.task_id]
                if pk not in have
                and pk in candidates
                and (kind != Task.Kind.USER_REPLY or _can_be_replied_to(candidates[pk]))
            ]
            if missing:
                chosen += missing
                used += 1
            if used >= items:
                break
        if used >= items:
            break
    made = answer_tasks_create(
        kind=kind,
        candidates=list(Candidate.objects.filter(pk__in=chosen).select_related("prompt")),
        required_annotations=required_annotations,
    )
    return made, used


def answer_task_counts() -> list[dict]:
    """Per kind of task about one answer: how many there are, and how many
    have every annotation they ask for; gold items aside (the Gold page
    counts those, and they take any number of annotations)."""
    counts = {kind: {"total": 0, "done": 0} for kind in ANSWER_TASK_KINDS}
    rows = (
        Task.objects.filter(kind__in=ANSWER_TASK_KINDS, gold__isnull=True)
        .annotate(submitted=Count("assignments", filter=Q(assignments__state=Assignment.State.SUBMITTED)))
        .values_list("kind", "required_annotations", "submitted")
    )
    for kind, required, submitted in rows.iterator():
        counts[kind]["total"] += 1
        counts[kind]["done"] += submitted >= required
    return [{"kind": kind, "label": Task.Kind(kind).label, **counts[kind]} for kind in ANSWER_TASK_KINDS]
