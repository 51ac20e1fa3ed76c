"""Reads of the labeling app: the tasks open to an annotator and what their
pages show, annotators' progress, weights and agreement, the prompt pool,
the items a snapshot's filters select, and snapshots' frozen rows."""
import hashlib
import json
import random
from datetime import date, timedelta

from django.conf import settings
from django.db.models import Avg, Count, F, Q, QuerySet
from django.db.models.functions import TruncDate, TruncWeek
from django.http import Http404
from django.utils import timezone

from .consensus import PRIOR_WEIGHT
from core.errors import UserError
from .guidelines import DEFAULT_GUIDELINES
from .models import (
    AnnotatorStats,
    Assignment,
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

# Assignments that hold one of a task's places.
TAKEN_STATES = (Assignment.State.LEASED, Assignment.State.SUBMITTED)


# --- Tasks and assignments -------------------------------------------------


def tasks_open_to(*, annotator, kind: str | None = None) -> QuerySet:
    """Tasks the annotator may take now, annotated with `taken` (their
    places held): they still need annotations, their prompt is not the
    annotator's, and the annotator has had no assignment on any task of
    that prompt (so nobody ranks their own demonstration)."""
    seen_prompts = Assignment.objects.filter(annotator=annotator).values("task__prompt_id")
    tasks = (
        Task.objects.filter(required_annotations__gt=0)
        .exclude(prompt__author=annotator)
        .exclude(prompt_id__in=seen_prompts)
        .annotate(taken=Count("assignments", filter=Q(assignments__state__in=TAKEN_STATES)))
        .filter(taken__lt=F("required_annotations"))
    )
    return tasks.filter(kind=kind) if kind else tasks


def assignment_get_for_annotator(*, annotator, assignment_id: int) -> Assignment:
    """The annotator's own assignment; anyone else's is Http404, so ids of
    other people's work reveal nothing."""
    assignment = (
        Assignment.objects.select_related("task", "task__prompt").filter(pk=assignment_id, annotator=annotator).first()
    )
    if assignment is None:
        raise Http404("No such assignment.")
    return assignment


def annotator_home(*, annotator) -> list[dict]:
    """Per task kind: the live lease the annotator holds (or None) and how
    many tasks are open to them."""
    open_ids = tasks_open_to(annotator=annotator).values("pk")
    open_counts = dict(
        Task.objects.filter(pk__in=open_ids).order_by().values_list("kind").annotate(count=Count("id"))
    )
    leases = {
        a.task.kind: a
        for a in Assignment.objects.filter(
            annotator=annotator, state=Assignment.State.LEASED, lease_expires_at__gt=timezone.now()
        ).select_related("task").order_by("-id")
    }
    return [
        {"kind": kind, "label": label, "lease": leases.get(kind), "open": open_counts.get(kind, 0)}
        for kind, label in Task.Kind.choices
    ]


def ranking_candidates(*, assignment: Assignment) -> list:
    """The task's candidates in this assignment's own random order: every
    annotator sees a different order (so no position bias adds up across
    annotators), and a reload keeps it (seeded by the assignment)."""
    links = list(assignment.task.task_candidates.select_related("candidate").order_by("position"))
    random.Random(assignment.pk).shuffle(links)
    return [link.candidate for link in links]


def guidelines_text(*, kind: str) -> str:
    row = Guidelines.objects.filter(kind=kind).first()
    return row.text if row else DEFAULT_GUIDELINES[kind]


# --- Progress and leaderboard -----------------------------------------------

# The days a streak counts back over.
STREAK_HORIZON_DAYS = 366
LEADERBOARD_DAYS = 30


def annotator_progress(*, annotator) -> dict:
    """Tasks submitted today (UTC), in all, and the streak: consecutive days
    with a submission, up to today, or up to yesterday while today is still
    empty (a streak is not lost before the day is over)."""
    today = timezone.now().date()
    submitted = Assignment.objects.filter(annotator=annotator, state=Assignment.State.SUBMITTED)
    days = set(
        submitted.filter(finished_at__date__gte=today - timedelta(days=STREAK_HORIZON_DAYS))
        .annotate(day=TruncDate("finished_at"))
        .values_list("day", flat=True)
        .distinct()
    )
    day = today if today in days else today - timedelta(days=1)
    streak = 0
    while day in days:
        streak += 1
        day -= timedelta(days=1)
    return {
        "done_today": submitted.filter(finished_at__date=today).count(),
        "total": submitted.count(),
        "streak": streak,
    }


def leaderboard(*, limit: int = 20) -> list[dict]:
    """Annotators by points over the last LEADERBOARD_DAYS: tasks submitted
    times the weight their agreement with consensus earns (see
    labeling.consensus.weight_for). Ranking at chance weighs almost nothing,
    so volume without agreement scores little; newcomers count at the
    prior until their rankings have been compared."""
    since = timezone.now() - timedelta(days=LEADERBOARD_DAYS)
    rows = (
        Assignment.objects.filter(state=Assignment.State.SUBMITTED, finished_at__gte=since)
        .values("annotator_id", "annotator__username")
        .annotate(
            rankings=Count("id", filter=Q(task__kind=Task.Kind.RANKING)),
            demonstrations=Count("id", filter=Q(task__kind=Task.Kind.DEMONSTRATION)),
        )
    )
    stats = {
        s.annotator_id: s
        for s in AnnotatorStats.objects.filter(annotator_id__in=[row["annotator_id"] for row in rows])
    }
    board = []
    for row in rows:
        stat = stats.get(row["annotator_id"])
        weight = stat.weight if stat else PRIOR_WEIGHT
        done = row["rankings"] + row["demonstrations"]
        board.append(
            {
                "username": row["annotator__username"],
                "rankings": row["rankings"],
                "demonstrations": row["demonstrations"],
                "agreement": stat.agreement if stat else None,
                "points": round(done * weight, 1),
            }
        )
    board.sort(key=lambda entry: (-entry["points"], entry["username"]))
    return board[:limit]


def annotators_low_agreement(*, below: float, min_rankings: int) -> list[dict]:
    """Annotators whose smoothed agreement with consensus is under `below`
    after at least `min_rankings` compared rankings, worst first, with
    their week-by-week history."""
    stats = list(
        AnnotatorStats.objects.filter(agreement__lt=below, num_rankings__gte=min_rankings)
        .select_related("annotator")
        .order_by("agreement")
    )
    return [
        {
            "annotator": s.annotator,
            "agreement": s.agreement,
            "weight": s.weight,
            "num_rankings": s.num_rankings,
            "history": annotator_agreement_history(annotator=s.annotator),
        }
        for s in stats
    ]


# --- The prompt pool and generation -----------------------------------------


def prompt_pool(*, source: str | None = None) -> QuerySet:
    """Prompts newest first with their task and candidate counts."""
    prompts = Prompt.objects.select_related("prompt_import").annotate(
        ranking_tasks=Count("tasks", filter=Q(tasks__kind=Task.Kind.RANKING), distinct=True),
        demonstration_tasks=Count("tasks", filter=Q(tasks__kind=Task.Kind.DEMONSTRATION), distinct=True),
        num_candidates=Count("candidates", distinct=True),
    )
    if source:
        prompts = prompts.filter(source=source)
    return prompts.order_by("-id")


def prompt_pool_sources() -> list[dict]:
    """Each source with how many prompts it gave and how many of them have
    a ranking task."""
    counts = {
        row["source"]: row
        for row in Prompt.objects.order_by()
        .values("source")
        .annotate(
            prompts=Count("id", distinct=True),
            ranked=Count("id", filter=Q(tasks__kind=Task.Kind.RANKING), distinct=True),
        )
    }
    return [
        {"source": value, "label": label, **{k: counts.get(value, {}).get(k, 0) for k in ("prompts", "ranked")}}
        for value, label in Prompt.Source.choices
    ]


def prompts_without_ranking(*, count: int, source: str | None = None) -> list[Prompt]:
    """The `count` oldest prompts that have no ranking task yet nor a
    generation queued or running for one."""
    prompts = Prompt.objects.exclude(tasks__kind=Task.Kind.RANKING).exclude(
        candidate_generations__state__in=[CandidateGeneration.State.QUEUED, CandidateGeneration.State.RUNNING]
    )
    if source:
        prompts = prompts.filter(source=source)
    return list(prompts.order_by("id")[:count])


def candidate_generations_recent(*, limit: int = 30) -> list[CandidateGeneration]:
    return list(
        CandidateGeneration.objects.select_related("prompt", "task", "created_by").prefetch_related("model_versions")[
            :limit
        ]
    )


def flagged_items(*, limit: int = 100) -> list[dict]:
    """Ranked items whose consensus found no answer acceptable or flagged
    some answer, newest first, with each candidate's text and flags: what
    annotators say should not be trained on (the exports leave these out
    or never choose them) and what admins should look at."""
    tasks = list(
        Task.objects.filter(kind=Task.Kind.RANKING, consensus__isnull=False)
        .filter(Q(consensus__none_acceptable=True) | ~Q(consensus__flags={}))
        .select_related("prompt", "consensus")
        .order_by("-consensus__updated_at", "-id")[:limit]
    )
    links = TaskCandidate.objects.filter(task__in=tasks).select_related("candidate").order_by("task_id", "position")
    candidates: dict[int, list] = {}
    for link in links:
        candidates.setdefault(link.task_id, []).append(link.candidate)
    return [
        {
            "task": task,
            "none_acceptable": task.consensus.none_acceptable,
            "candidates": [
                {"candidate": c, "flags": task.consensus.flags.get(str(c.pk), [])} for c in candidates.get(task.pk, [])
            ],
        }
        for task in tasks
    ]


def prompt_imports_recent(*, limit: int = 10) -> list[PromptImport]:
    return list(PromptImport.objects.select_related("created_by").order_by("-id")[:limit])


def snapshot_list() -> QuerySet:
    return DatasetSnapshot.objects.select_related("created_by").order_by("-created_at", "-id")


def annotator_weights(*, annotator_ids: list[int]) -> dict[int, float]:
    """Vote weights of those annotators who have any; the others count at
    the prior (labeling.consensus.PRIOR_WEIGHT)."""
    return dict(AnnotatorStats.objects.filter(annotator_id__in=annotator_ids).values_list("annotator_id", "weight"))


def annotator_agreement_history(*, annotator) -> list[dict]:
    """The annotator's mean agreement with consensus week by week (by the
    week they ranked), oldest first: whether someone is improving or
    drifting shows here before it moves their overall figure."""
    rows = (
        Ranking.objects.filter(assignment__annotator=annotator, agreement__isnull=False)
        .annotate(week=TruncWeek("created_at"))
        .values("week")
        .annotate(agreement=Avg("agreement"), rankings=Count("id"))
        .order_by("week")
    )
    return [{"week": row["week"].date(), "agreement": row["agreement"], "rankings": row["rankings"]} for row in rows]


# --- Snapshot contents ------------------------------------------------------

_COMMON_FILTERS = {"sources", "created_from", "created_to", "import_id"}
SNAPSHOT_FILTERS = {
    DatasetSnapshot.Kind.SFT: _COMMON_FILTERS | {"task_kind"},
    DatasetSnapshot.Kind.PREFERENCE: _COMMON_FILTERS | {"min_agreement", "arena_votes"},
}


def snapshot_filters_clean(*, kind: str, filters: dict) -> dict:
    """The filters, checked, with their values in canonical form; raises
    ValueError naming the first bad one.

    - sources: list of Prompt.Source values
    - created_from, created_to: ISO dates, both included; the item's date
      is its task's (preference) or demonstration's (SFT)
    - import_id: only what that import brought (its ranked pairs)
    - min_agreement (preference): 0..1; an item needs at least two rankings
      to have an agreement, so imported pairs never pass it
    - task_kind (SFT): "demonstration" (demonstration tasks) or "ranking"
      (better answers written while ranking)
    - arena_votes (preference): true takes single arena votes too, which
      no annotator checked (labeling.from_chat.arena_pair_record)
    """
    if kind not in SNAPSHOT_FILTERS:
        raise ValueError(f"unknown dataset kind {kind!r}")
    unknown = set(filters) - SNAPSHOT_FILTERS[kind]
    if unknown:
        raise ValueError(f"{', '.join(sorted(unknown))} cannot filter a {kind} dataset")
    clean = {}
    if "sources" in filters:
        sources = filters["sources"]
        if not isinstance(sources, list) or not sources or not set(sources) <= set(Prompt.Source.values):
            raise ValueError(f"sources must be a list of {', '.join(Prompt.Source.values)}")
        clean["sources"] = sorted(set(sources))
    for key in ("created_from", "created_to"):
        if key in filters:
            try:
                clean[key] = date.fromisoformat(str(filters[key])).isoformat()
            except ValueError:
                raise ValueError(f"{key} must be a date (YYYY-MM-DD)") from None
    if "import_id" in filters:
        if isinstance(filters["import_id"], bool) or not isinstance(filters["import_id"], int):
            raise ValueError("import_id must be a whole number")
        clean["import_id"] = filters["import_id"]
    if "min_agreement" in filters:
        value = filters["min_agreement"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ValueError("min_agreement must be a number from 0 to 1")
        clean["min_agreement"] = float(value)
    if "task_kind" in filters:
        if filters["task_kind"] not in Task.Kind.values:
            raise ValueError(f"task_kind must be one of {', '.join(Task.Kind.values)}")
        clean["task_kind"] = filters["task_kind"]
    if "arena_votes" in filters:
        if not isinstance(filters["arena_votes"], bool):
            raise ValueError("arena_votes must be true or false")
        if filters["arena_votes"]:
            clean["arena_votes"] = True
    return clean


def _dated(queryset: QuerySet, filters: dict) -> QuerySet:
    if "created_from" in filters:
        queryset = queryset.filter(created_at__date__gte=filters["created_from"])
    if "created_to" in filters:
        queryset = queryset.filter(created_at__date__lte=filters["created_to"])
    return queryset


def sft_items(*, filters: dict) -> list[dict]:
    """Demonstrations matching the (clean) filters, oldest first, as
    snapshot rows: the prompt's messages and the answer."""
    demonstrations = _dated(Demonstration.objects.all(), filters).select_related("prompt", "assignment__task")
    if "sources" in filters:
        demonstrations = demonstrations.filter(prompt__source__in=filters["sources"])
    if "import_id" in filters:
        demonstrations = demonstrations.filter(prompt__prompt_import_id=filters["import_id"])
    if "task_kind" in filters:
        demonstrations = demonstrations.filter(assignment__task__kind=filters["task_kind"])
    return [
        {
            "id": f"demonstration-{d.pk}",
            "prompt_id": d.prompt_id,
            "source": d.prompt.source,
            "task_kind": d.assignment.task.kind if d.assignment else None,
            "created_at": d.created_at.isoformat(),
            "messages": d.prompt.messages,
            "completion": d.content,
        }
        for d in demonstrations.order_by("id")
    ]


def preference_items(*, filters: dict) -> list[dict]:
    """Ranking tasks with a finished consensus matching the (clean)
    filters, oldest first, as snapshot rows: the prompt's messages and every
    candidate with its consensus rank (0 best; equal ranks tie), score and
    flags.

    Finished: every annotation the task asked for is in (imported tasks ask
    for none). Left out: items the weighted majority found none acceptable,
    items whose candidates all tie (they hold no preference), and single
    arena votes unless `arena_votes` asks for them."""
    tasks = (
        _dated(Task.objects.filter(kind=Task.Kind.RANKING, consensus__isnull=False), filters)
        .filter(consensus__num_rankings__gte=F("required_annotations"), consensus__none_acceptable=False)
        .select_related("prompt", "consensus")
    )
    if "sources" in filters:
        tasks = tasks.filter(prompt__source__in=filters["sources"])
    if "import_id" in filters:
        tasks = tasks.filter(prompt_import_id=filters["import_id"])
    if "min_agreement" in filters:
        tasks = tasks.filter(consensus__agreement__gte=filters["min_agreement"])
    if not filters.get("arena_votes"):
        tasks = tasks.exclude(consensus__method=Consensus.Method.ARENA)
    tasks = [task for task in tasks.order_by("id") if len(task.consensus.groups) >= 2]
    texts: dict[int, dict[int, str]] = {}
    for chunk_start in range(0, len(tasks), 500):
        links = TaskCandidate.objects.filter(task__in=tasks[chunk_start : chunk_start + 500]).values_list(
            "task_id", "candidate_id", "candidate__text"
        )
        for task_id, candidate_id, text in links:
            texts.setdefault(task_id, {})[candidate_id] = text
    rows = []
    for task in tasks:
        consensus = task.consensus
        rank = {pk: index for index, group in enumerate(consensus.groups) for pk in group}
        rows.append(
            {
                "id": f"task-{task.pk}",
                "prompt_id": task.prompt_id,
                "source": task.prompt.source,
                "created_at": task.created_at.isoformat(),
                "messages": task.prompt.messages,
                "method": consensus.method,
                "agreement": consensus.agreement,
                "num_rankings": consensus.num_rankings,
                "candidates": [
                    {
                        "id": pk,
                        "text": texts[task.pk][pk],
                        "rank": rank[pk],
                        "score": consensus.scores[str(pk)],
                        "flags": consensus.flags.get(str(pk), []),
                    }
                    for pk in sorted(rank, key=lambda pk: (rank[pk], pk))
                ],
            }
        )
    return rows


def canonical_json(row: dict) -> str:
    """One snapshot row as the bytes its hash is taken over: sorted keys, no
    spaces, text as it is (not \\u-escaped)."""
    return json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


# --- Snapshots --------------------------------------------------------------


def snapshot_get(*, spec: str) -> DatasetSnapshot:
    """`name@version`, or `name` for its latest version. Raises
    DatasetSnapshot.DoesNotExist."""
    name, _, version = spec.partition("@")
    snapshots = DatasetSnapshot.objects.filter(name=name)
    if version:
        if not version.isdigit():
            raise DatasetSnapshot.DoesNotExist(f"{spec!r}: the version must be a number")
        return snapshots.get(version=int(version))
    snapshot = snapshots.order_by("-version").first()
    if snapshot is None:
        raise DatasetSnapshot.DoesNotExist(f"No snapshot is named {name!r}.")
    return snapshot


def snapshot_rows(*, snapshot: DatasetSnapshot) -> list[dict]:
    """The frozen rows, after checking the file still has the stored hash."""
    path = settings.DATA_DIR / snapshot.path
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UserError("missing", f"The file of {snapshot} cannot be read: {error.strerror}.") from None
    if hashlib.sha256(data).hexdigest() != snapshot.content_hash:
        raise UserError("tampered", f"The file of {snapshot} no longer has its recorded hash; it was changed.")
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]
