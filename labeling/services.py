"""Writes of the labeling app: imports, tasks, assignments and the work
submitted on them, consensus, dataset snapshots.

Invariants kept here: an annotator is never given a task on a prompt they
wrote or already worked on; a task never has more live or finished
assignments than it asks for; an import and a snapshot are all or nothing.
"""
import hashlib
import json
import os
import random
import re
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Sum
from django.utils import timezone

from chat.models import Message
from core.text import clean_text

from . import consensus as quality
from . import selectors
from core.errors import UserError
from .importers import ParsedItem, parse_hh, parse_jsonl, parse_oasst
from .models import (
    CANDIDATE_FLAGS,
    FLAG_HARMFUL,
    FLAG_SPAM,
    MAX_CANDIDATES,
    MIN_CANDIDATES,
    AnnotatorStats,
    Assignment,
    Candidate,
    CandidateGeneration,
    Consensus,
    DatasetSnapshot,
    Demonstration,
    Guidelines,
    Prompt,
    PromptImport,
    Ranking,
    Task,
    TaskCandidate,
)
from .text import clean_answer, clean_messages, messages_hash, text_hash

CHUNK = 500
# How many open tasks task_assign_next tries before it gives up on a busy
# pool (each try can lose its task to another annotator).
ASSIGN_ATTEMPTS = 20


def _chunks(values: list, size: int = CHUNK):
    for start in range(0, len(values), size):
        yield values[start : start + size]


# --- Prompts ----------------------------------------------------------------


def prompts_import(*, lines: Iterable[str], fmt: str, file_name: str, created_by=None) -> PromptImport:
    """Imports a whole file or nothing: every line is parsed and checked
    first (PromptImportError names the first bad line), then everything is
    written in one transaction. Prompts already in the pool (or repeated in
    the file) are counted and reused; ranked data (HH-RLHF pairs, ranked
    OpenAssistant replies) becomes ranking tasks that need no annotation,
    with the data's ranking as their consensus, each the same pair once."""
    lines = list(lines)
    same_answers: list[int] = []
    if fmt == PromptImport.Format.HH:
        items = list(parse_hh(lines, file_name, same_answers=same_answers))
    elif fmt == PromptImport.Format.OASST:
        items = list(parse_oasst(lines, file_name))
    elif fmt == PromptImport.Format.JSONL:
        items = list(parse_jsonl(lines, file_name))
    else:
        raise ValueError(f"Unknown import format {fmt!r}.")
    with transaction.atomic():
        record = PromptImport.objects.create(format=fmt, file_name=file_name, created_by=created_by)
        counts = _import_items(record, items)
        record.counts = {"lines": sum(1 for line in lines if line.strip()), "same_answers": len(same_answers), **counts}
        record.save(update_fields=["counts"])
    return record


def _import_items(record: PromptImport, items: list[ParsedItem]) -> dict:
    hashes = [messages_hash(item.messages) for item in items]
    prompt_ids = {}
    for chunk in _chunks(list(set(hashes))):
        prompt_ids.update(Prompt.objects.filter(content_hash__in=chunk).values_list("content_hash", "id"))
    existing_prompt_ids = set(prompt_ids.values())
    new_prompts: dict[str, Prompt] = {}
    for item, digest in zip(items, hashes):
        if digest not in prompt_ids and digest not in new_prompts:
            ref = f"{record.file_name}:{item.line}" + (f" {item.ref}" if item.ref else "")
            new_prompts[digest] = Prompt(
                messages=item.messages,
                source=Prompt.Source.IMPORT,
                source_ref=ref[:500],
                content_hash=digest,
                prompt_import=record,
            )
    Prompt.objects.bulk_create(new_prompts.values(), batch_size=CHUNK)
    prompt_ids.update({digest: prompt.pk for digest, prompt in new_prompts.items()})

    candidate_ids, candidates_created = _import_candidates(items, hashes, prompt_ids, existing_prompt_ids)
    tasks_created, tasks_duplicate = _import_rankings(record, items, hashes, prompt_ids, candidate_ids)
    return {
        "items": len(items),
        "prompts_created": len(new_prompts),
        "prompts_duplicate": len(items) - len(new_prompts),
        "candidates_created": candidates_created,
        "tasks_created": tasks_created,
        "tasks_duplicate": tasks_duplicate,
    }


def _import_candidates(items, hashes, prompt_ids, existing_prompt_ids) -> tuple[dict[tuple[int, str], int], int]:
    """The id of every candidate of the items by (prompt id, text hash),
    and how many of them are new."""
    ids: dict[tuple[int, str], int] = {}
    wanted = {(prompt_ids[digest], text_hash(text)): text for item, digest in zip(items, hashes) for text in item.candidates}
    old_prompts = sorted({prompt_id for prompt_id, _ in wanted if prompt_id in existing_prompt_ids})
    for chunk in _chunks(old_prompts):
        for prompt_id, digest, pk in Candidate.objects.filter(prompt_id__in=chunk).values_list(
            "prompt_id", "text_hash", "id"
        ):
            ids[prompt_id, digest] = pk
    new = [
        Candidate(prompt_id=prompt_id, text=text, text_hash=digest, origin=Candidate.Origin.IMPORTED)
        for (prompt_id, digest), text in wanted.items()
        if (prompt_id, digest) not in ids
    ]
    Candidate.objects.bulk_create(new, batch_size=CHUNK)
    ids.update({(candidate.prompt_id, candidate.text_hash): candidate.pk for candidate in new})
    return ids, len(new)


def _import_rankings(record, items, hashes, prompt_ids, candidate_ids) -> tuple[int, int]:
    """Each ranked item as a finished task whose consensus is the data's
    ranking; an item already imported (same prompt, same candidates, same
    order) is counted, not repeated. Returns (created, duplicates)."""
    planned: dict[str, tuple[int, list[list[int]]]] = {}
    duplicates = 0
    for item, digest in zip(items, hashes):
        if item.ranking is None:
            continue
        prompt_id, seen, groups = prompt_ids[digest], set(), []
        for group in item.ranking:
            ids = []
            for index in group:
                pk = candidate_ids[prompt_id, text_hash(item.candidates[index])]
                if pk not in seen:
                    seen.add(pk)
                    ids.append(pk)
            if ids:
                groups.append(sorted(ids))
        if len(groups) < 2:
            continue
        fingerprint = hashlib.sha256(json.dumps([prompt_id, groups]).encode()).hexdigest()
        if fingerprint in planned:
            duplicates += 1
        else:
            planned[fingerprint] = (prompt_id, groups)
    for chunk in _chunks(list(planned)):
        for fingerprint in Task.objects.filter(import_fingerprint__in=chunk).values_list("import_fingerprint", flat=True):
            del planned[fingerprint]
            duplicates += 1
    tasks = [
        Task(
            kind=Task.Kind.RANKING,
            prompt_id=prompt_id,
            required_annotations=0,
            prompt_import=record,
            import_fingerprint=fingerprint,
        )
        for fingerprint, (prompt_id, _) in planned.items()
    ]
    Task.objects.bulk_create(tasks, batch_size=CHUNK)
    links, consensus_rows = [], []
    for task, (_, groups) in zip(tasks, planned.values()):
        order = [pk for group in groups for pk in group]
        random.shuffle(order)
        links += [TaskCandidate(task=task, candidate_id=pk, position=i) for i, pk in enumerate(order)]
        points = quality.borda_points(groups)
        consensus_rows.append(
            Consensus(
                task=task,
                method=Consensus.Method.IMPORTED,
                groups=groups,
                scores={str(pk): value for pk, value in points.items()},
            )
        )
    TaskCandidate.objects.bulk_create(links, batch_size=CHUNK)
    Consensus.objects.bulk_create(consensus_rows, batch_size=CHUNK)
    return len(tasks), duplicates


def prompt_create(*, author, messages: list[dict]) -> Prompt:
    """A prompt an annotator wrote. Raises UserError when the
    conversation is malformed or already in the pool."""
    try:
        messages = clean_messages(messages)
    except ValueError as error:
        raise UserError("invalid_prompt", f"The prompt is not valid: {error}.") from None
    try:
        with transaction.atomic():
            return Prompt.objects.create(
                messages=messages, source=Prompt.Source.ANNOTATOR, author=author, content_hash=messages_hash(messages)
            )
    except IntegrityError:
        raise UserError("duplicate", "This prompt is already in the pool.") from None


def prompt_create_from_chat(*, message: Message) -> Prompt:
    """The conversation up to a user's chat message, as a prompt.
    Precondition: the message's owner opted in to sharing it. Sharing the
    same conversation again returns the prompt already made."""
    if message.role != Message.Role.USER:
        raise UserError("not_a_prompt", "Only a user message can be shared as a prompt.")
    by_id = {m.pk: m for m in message.conversation.messages.all()}
    path, node = [], by_id[message.pk]
    while node is not None:
        path.append(node)
        node = by_id.get(node.parent_id)
    messages = [{"role": m.role, "content": m.content} for m in reversed(path)]
    if message.conversation.system_prompt.strip():
        messages.insert(0, {"role": "system", "content": message.conversation.system_prompt})
    try:
        messages = clean_messages(messages)
    except ValueError as error:
        raise UserError("invalid_prompt", f"This conversation cannot be a prompt: {error}.") from None
    prompt, _ = Prompt.objects.get_or_create(
        content_hash=messages_hash(messages),
        defaults={
            "messages": messages,
            "source": Prompt.Source.CHAT,
            "source_ref": f"conversation {message.conversation_id}",
            "author": message.conversation.owner,
            "chat_message": message,
        },
    )
    return prompt


# --- Candidates and tasks ---------------------------------------------------


def candidate_add(
    *,
    prompt: Prompt,
    text: str,
    origin: str,
    model_version=None,
    demonstration: Demonstration | None = None,
    sampling: dict | None = None,
) -> Candidate:
    """A candidate answer to `prompt`; the same text (normalized) already
    there is returned as it is."""
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
            "invalid_candidates", f"A ranking needs {MIN_CANDIDATES} to {MAX_CANDIDATES} candidates, not {len(candidates)}."
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
    Task.objects.bulk_create(tasks, batch_size=CHUNK)
    return len(tasks)


def candidate_generations_expire() -> int:
    """Fails the generations whose worker died mid-way (they stay `running`
    with nobody working on them), so the admin sees it and the prompt can
    be requested again; returns how many."""
    cutoff = timezone.now() - timedelta(minutes=settings.LABELING_GENERATION_TIMEOUT_MINUTES)
    return CandidateGeneration.objects.filter(state=CandidateGeneration.State.RUNNING, started_at__lt=cutoff).update(
        state=CandidateGeneration.State.FAILED,
        error="The worker stopped before finishing; request this prompt again.",
        finished_at=timezone.now(),
    )


def candidate_generations_request(
    *,
    prompts: list[Prompt],
    model_versions: list,
    k: int,
    required_annotations: int,
    max_new_tokens: int,
    created_by=None,
) -> list[CandidateGeneration]:
    """Queues the generation of `k` candidates for each prompt from
    `model_versions` (policy versions), each then made a ranking task; the
    generation queue's workers do it (labeling.generation) once this
    transaction commits."""
    if not MIN_CANDIDATES <= k <= MAX_CANDIDATES:
        raise UserError("invalid_k", f"K must be from {MIN_CANDIDATES} to {MAX_CANDIDATES}.")
    if not model_versions:
        raise UserError("no_versions", "Choose at least one model version.")
    from .tasks import candidates_generate_task

    with transaction.atomic():
        generations = CandidateGeneration.objects.bulk_create(
            [
                CandidateGeneration(
                    prompt=prompt,
                    k=k,
                    required_annotations=required_annotations,
                    max_new_tokens=max_new_tokens,
                    created_by=created_by,
                )
                for prompt in dict.fromkeys(prompts)
            ]
        )
        CandidateGeneration.model_versions.through.objects.bulk_create(
            [
                CandidateGeneration.model_versions.through(candidategeneration_id=g.pk, modelversion_id=v.pk)
                for g in generations
                for v in model_versions
            ]
        )
        ids = [g.pk for g in generations]

        def enqueue():
            for pk in ids:
                candidates_generate_task.delay(pk)

        transaction.on_commit(enqueue)
    return generations


def guidelines_update(*, kind: str, text: str, updated_by) -> Guidelines:
    guidelines, _ = Guidelines.objects.update_or_create(
        kind=kind, defaults={"text": clean_answer(text).strip(), "updated_by": updated_by}
    )
    return guidelines


# --- Assignment -------------------------------------------------------------

_TAKEN = selectors.TAKEN_STATES


def assignments_expire() -> int:
    """Marks leases past their time expired, which gives their tasks' places
    back to the pool. Returns how many."""
    return Assignment.objects.filter(state=Assignment.State.LEASED, lease_expires_at__lte=timezone.now()).update(
        state=Assignment.State.EXPIRED, finished_at=timezone.now()
    )


def task_assign_next(*, annotator, kind: str | None = None) -> Assignment | None:
    """The annotator's live lease (of `kind`, when given) if they hold one,
    else a new lease of LABELING_LEASE_MINUTES on the open task closest to
    done; None when no task is open to them.

    Open to them: it still needs annotations, its prompt is not theirs, and
    they have had no assignment on any task of that prompt (so they never
    rank their own demonstration either: writing it was such an
    assignment). The task row is locked while its places are counted, so
    two annotators cannot take its last place."""
    with transaction.atomic():
        assignments_expire()
        now = timezone.now()
        live = Assignment.objects.filter(annotator=annotator, state=Assignment.State.LEASED).select_related("task")
        if kind:
            live = live.filter(task__kind=kind)
        if current := live.order_by("id").first():
            return current
        open_tasks = selectors.tasks_open_to(annotator=annotator, kind=kind).order_by("-taken", "id")
        for task_id in list(open_tasks.values_list("id", flat=True)[:ASSIGN_ATTEMPTS]):
            task = Task.objects.select_for_update(skip_locked=True).filter(pk=task_id).first()
            if task is None or task.assignments.filter(state__in=_TAKEN).count() >= task.required_annotations:
                continue
            return Assignment.objects.create(
                task=task,
                annotator=annotator,
                lease_expires_at=now + timedelta(minutes=settings.LABELING_LEASE_MINUTES),
            )
    return None


def _lock_for_finish(assignment: Assignment) -> Assignment:
    """The assignment, locked, if its work can still be accepted: its lease
    is live, or it expired but nobody has taken its place since."""
    assignment = Assignment.objects.select_for_update().select_related("task", "task__prompt").get(pk=assignment.pk)
    if assignment.state == Assignment.State.LEASED:
        return assignment
    if assignment.state == Assignment.State.EXPIRED:
        task = Task.objects.select_for_update().get(pk=assignment.task_id)
        if task.assignments.filter(state__in=_TAKEN).count() < task.required_annotations:
            return assignment
        raise UserError("lease_expired", "The time for this task ran out and someone else has taken it.")
    raise UserError("finished", f"This task was already {assignment.get_state_display().lower()}.")


def _finish(assignment: Assignment, state: str, skip_reason: str = "") -> None:
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
    """Stores a person's answer and offers it as a candidate for future
    rankings of the prompt."""
    content = clean_answer(content)
    demonstration = Demonstration.objects.create(
        prompt=assignment.task.prompt, author=assignment.annotator, assignment=assignment, content=content
    )
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
    of everyone who ranked it. A better answer becomes a demonstration."""
    assignment = _lock_for_finish(assignment)
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
    if better_answer.strip():
        _demonstration_add(assignment=assignment, content=better_answer)
    _finish(assignment, Assignment.State.SUBMITTED)
    consensus_update(task=assignment.task)
    return ranking


@transaction.atomic
def demonstration_submit(*, assignment: Assignment, content: str) -> Demonstration:
    assignment = _lock_for_finish(assignment)
    if assignment.task.kind != Task.Kind.DEMONSTRATION:
        raise UserError("wrong_kind", "This task asks for a ranking, not an answer.")
    if not content.strip():
        raise UserError("empty", "The answer is empty.")
    demonstration = _demonstration_add(assignment=assignment, content=content)
    _finish(assignment, Assignment.State.SUBMITTED)
    return demonstration


@transaction.atomic
def assignment_skip(*, assignment: Assignment, reason: str) -> Assignment:
    """Gives the task back for someone else; the reason is kept for the
    admins (an unclear prompt, one needing expertise)."""
    if not reason.strip():
        raise UserError("reason_required", "Say why you skip this task.")
    assignment = _lock_for_finish(assignment)
    _finish(assignment, Assignment.State.SKIPPED, skip_reason=clean_text(reason).strip()[:500])
    return assignment


# --- Consensus and agreement ------------------------------------------------


def _ranking_votes(task: Task | None = None) -> dict[int, dict[int, tuple[int, list, bool, dict]]]:
    """task -> annotator -> (ranking id, groups, none acceptable, flags), of
    one task or of all."""
    votes: dict[int, dict] = {}
    rankings = Ranking.objects.filter(assignment__state=Assignment.State.SUBMITTED)
    if task is not None:
        rankings = rankings.filter(assignment__task=task)
    rows = rankings.values_list(
        "id", "assignment__task_id", "assignment__annotator_id", "groups", "none_acceptable", "flags"
    )
    for pk, task_id, annotator_id, groups, none_acceptable, flags in rows:
        votes.setdefault(task_id, {})[annotator_id] = (pk, groups, none_acceptable, flags)
    return votes


def _store_consensus(votes, items: dict[int, quality.ItemConsensus], weights: dict[int, float]) -> None:
    """Writes each task's consensus and each ranking's leave-one-out
    agreement."""
    rows, rankings = [], []
    for task_id, item in items.items():
        by_annotator = votes[task_id]
        none_acceptable, flags = quality.weighted_votes(
            [
                (weights.get(a, quality.PRIOR_WEIGHT), said, {int(k): v for k, v in marks.items()})
                for a, (_, _, said, marks) in by_annotator.items()
            ]
        )
        rows.append(
            Consensus(
                task_id=task_id,
                method=Consensus.Method.BORDA,
                groups=item.groups,
                scores={str(pk): score for pk, score in item.scores.items()},
                agreement=item.agreement,
                num_rankings=len(by_annotator),
                none_acceptable=none_acceptable,
                flags={str(pk): names for pk, names in flags.items()},
            )
        )
        rankings += [
            Ranking(pk=pk, agreement=item.ranking_agreement[a]) for a, (pk, _, _, _) in by_annotator.items()
        ]
    Consensus.objects.bulk_create(
        rows,
        batch_size=CHUNK,
        update_conflicts=True,
        unique_fields=["task"],
        update_fields=["method", "groups", "scores", "agreement", "num_rankings", "none_acceptable", "flags", "updated_at"],
    )
    Ranking.objects.bulk_update(rankings, ["agreement"], batch_size=CHUNK)
    _send_to_moderation(rows)


# The flags that are a safety matter for moderators; the others (wrong,
# refusing, not following) are about quality and stay on the labeling
# admin's flagged page.
_MODERATION_FLAGS = (FLAG_HARMFUL, FLAG_SPAM)


def _send_to_moderation(rows: list[Consensus]) -> None:
    """Queues for moderators the candidates that consensus flagged harmful
    or spam, and every candidate of an item found to have no acceptable
    answer (whatever annotators rejected may be what a moderator must see)."""
    from moderation.flags import review_item_from_annotators

    reasons: dict[int, list[str]] = {}
    for row in rows:
        for pk, names in row.flags.items():
            for name in names:
                if name in _MODERATION_FLAGS:
                    reasons.setdefault(int(pk), []).append(f"flagged {CANDIDATE_FLAGS[name].lower()}")
        if row.none_acceptable:
            for pk in TaskCandidate.objects.filter(task_id=row.task_id).values_list("candidate_id", flat=True):
                reasons.setdefault(pk, []).append("no answer to this prompt was acceptable")
    for candidate in Candidate.objects.filter(pk__in=list(reasons)):
        review_item_from_annotators(
            candidate=candidate, reason="Annotators' consensus: " + "; ".join(reasons[candidate.pk]) + "."
        )


def _store_stats(stats: dict[int, tuple[float, int, float]]) -> None:
    AnnotatorStats.objects.bulk_create(
        [
            AnnotatorStats(annotator_id=a, agreement=agreement, num_rankings=count, weight=weight)
            for a, (agreement, count, weight) in stats.items()
        ],
        batch_size=CHUNK,
        update_conflicts=True,
        unique_fields=["annotator"],
        update_fields=["agreement", "num_rankings", "weight", "updated_at"],
    )


def consensus_update(*, task: Task) -> None:
    """Recomputes one task's consensus with the annotators' current
    weights, the agreement of its rankings, and the agreement and weight of
    the annotators who ranked it. Cheap enough for every submission; the
    weights settle over all items in quality_refresh."""
    votes = _ranking_votes(task)
    if not votes:
        return
    by_annotator = votes[task.pk]
    weights = selectors.annotator_weights(annotator_ids=list(by_annotator))
    item = quality.item_consensus({a: groups for a, (_, groups, _, _) in by_annotator.items()}, weights)
    _store_consensus(votes, {task.pk: item}, weights)
    totals = (
        Ranking.objects.filter(assignment__annotator_id__in=list(by_annotator), agreement__isnull=False)
        .values_list("assignment__annotator_id")
        .annotate(total=Sum("agreement"), count=Count("id"))
    )
    found = {a: (total, count) for a, total, count in totals}
    _store_stats(
        {
            a: (smoothed, count, weight)
            for a in by_annotator
            for total, count in [found.get(a, (0.0, 0))]
            for smoothed, weight in [quality.weight_for(total, count)]
        }
    )


def quality_refresh() -> int:
    """Fits every annotator's weight and every ranking task's consensus
    together (see labeling.consensus.fit) and stores both. Returns the
    number of tasks. Snapshots call it, so a dataset is made from settled
    weights."""
    with transaction.atomic():
        votes = _ranking_votes()
        fitted = quality.fit(
            {t: {a: groups for a, (_, groups, _, _) in by_a.items()} for t, by_a in votes.items()}
        )
        weights = {a: weight for a, (_, _, weight) in fitted.annotators.items()}
        _store_consensus(votes, fitted.items, weights)
        _store_stats(fitted.annotators)
    return len(votes)


# --- Dataset snapshots ------------------------------------------------------

_SNAPSHOT_NAME = re.compile(r"[-a-zA-Z0-9_]{1,100}")


def snapshot_create(*, name: str, kind: str, filters: dict | None = None, created_by=None) -> DatasetSnapshot:
    """Freezes the items that match `filters` as the next version of
    dataset `name`: canonical JSONL (sorted keys, one item per line, in id
    order) written once to DATA_DIR/datasets/, its sha256 stored. Nothing
    done later to prompts, rankings or consensus changes the file. Raises
    UserError for bad filters or when nothing matches."""
    if not _SNAPSHOT_NAME.fullmatch(name):
        raise UserError("invalid_name", "A dataset name is letters, digits, - and _ (at most 100).")
    try:
        filters = selectors.snapshot_filters_clean(kind=kind, filters=filters or {})
    except ValueError as error:
        raise UserError("invalid_filters", f"The filters are not valid: {error}.") from None
    if kind == DatasetSnapshot.Kind.PREFERENCE:
        quality_refresh()
        rows = selectors.preference_items(filters=filters)
    else:
        rows = selectors.sft_items(filters=filters)
    if not rows:
        raise UserError("empty", "No items match these filters.")
    data = "".join(selectors.canonical_json(row) + "\n" for row in rows).encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()
    with transaction.atomic():
        version = (DatasetSnapshot.objects.filter(name=name).aggregate(latest=Max("version"))["latest"] or 0) + 1
        # The hash in the name: two admins racing for one version never
        # write over each other's file (the loser's row is refused).
        relative = f"datasets/{name}/v{version}-{digest[:12]}.jsonl"
        path = settings.DATA_DIR / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_bytes(data)
        partial.chmod(0o444)
        os.replace(partial, path)
        try:
            return DatasetSnapshot.objects.create(
                name=name,
                version=version,
                kind=kind,
                filters=filters,
                content_hash=digest,
                item_count=len(rows),
                path=relative,
                created_by=created_by,
            )
        except IntegrityError:
            raise UserError("busy", f"Version {version} of {name} was just made; try again.") from None
