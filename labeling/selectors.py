"""What annotators and admins see: the tasks open to an annotator and what
their pages show, annotators' progress and agreement, the prompt pool and
its generations, flagged items, imports and snapshots listed. (What a
snapshot holds is labeling.datasets.)"""

import random
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models import Avg, Count, F, Q, QuerySet
from django.db.models.functions import TruncDate, TruncWeek
from django.http import Http404
from django.utils import timezone

from . import agreement_stats
from .batches import batches
from .consensus import PRIOR_WEIGHT
from .guidelines import DEFAULT_GUIDELINES
from .models import (
    AnnotatorStats,
    Assignment,
    CandidateGeneration,
    DatasetSnapshot,
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
    open_counts = dict(Task.objects.filter(pk__in=open_ids).order_by().values_list("kind").annotate(count=Count("id")))
    leases = {
        a.task.kind: a
        for a in Assignment.objects.filter(
            annotator=annotator, state=Assignment.State.LEASED, lease_expires_at__gt=timezone.now()
        )
        .select_related("task")
        .order_by("-id")
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
            answer_tasks=Count("id", filter=Q(task__kind__in=[Task.Kind.LABEL, Task.Kind.USER_REPLY])),
        )
    )
    stats = {
        s.annotator_id: s for s in AnnotatorStats.objects.filter(annotator_id__in=[row["annotator_id"] for row in rows])
    }
    board = []
    for row in rows:
        stat = stats.get(row["annotator_id"])
        weight = stat.weight if stat else PRIOR_WEIGHT
        done = row["rankings"] + row["demonstrations"] + row["answer_tasks"]
        board.append(
            {
                "username": row["annotator__username"],
                "rankings": row["rankings"],
                "demonstrations": row["demonstrations"],
                "answer_tasks": row["answer_tasks"],
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


# --- Standard agreement statistics ------------------------------------------


def submitted_rankings(*, task_ids: list[int] | None = None) -> dict[int, dict[int, list[list[int]]]]:
    """task -> annotator -> groups of the submitted rankings of the given
    tasks, or of every task."""
    submitted = Ranking.objects.filter(assignment__state=Assignment.State.SUBMITTED, gold_answer__isnull=True)
    fields = ("assignment__task_id", "assignment__annotator_id", "groups")
    if task_ids is None:
        rows = submitted.values_list(*fields)
    else:
        rows = [
            row
            for some in batches(task_ids)
            for row in submitted.filter(assignment__task_id__in=some).values_list(*fields)
        ]
    by_task: dict[int, dict[int, list[list[int]]]] = {}
    for task_id, annotator_id, groups in rows:
        by_task.setdefault(task_id, {})[annotator_id] = groups
    return by_task


def rankings_agreement(*, task_ids: list[int]) -> dict:
    """Krippendorff's alpha and the mean Kendall's W of the rankings of the
    given tasks (labeling.agreement_stats.Summary, as a dict): what a
    preference snapshot stores of its items."""
    return agreement_stats.summary(submitted_rankings(task_ids=task_ids)).as_dict()


def agreement_overview() -> dict:
    """The annotators page's standard statistics over every submitted
    ranking: alpha and W per task kind, each annotator's alpha against the
    others beside the app's own agreement, and the alpha of every two
    annotators who ranked an item in common; lowest alpha first, those with
    too few shared items for one last.

    Rankings are the only ordinal judgements here (a demonstration is free
    text), so the other kinds have no summary."""
    rankings = submitted_rankings()
    pairs, by_annotator = agreement_stats.pairwise_alphas(rankings)
    names = dict(get_user_model().objects.filter(pk__in=list(by_annotator)).values_list("pk", "username"))
    own = dict(
        AnnotatorStats.objects.filter(annotator_id__in=list(by_annotator)).values_list("annotator_id", "agreement")
    )

    def lowest_first(alpha: float | None, *names: str) -> tuple:
        return (alpha is None, alpha or 0.0, *names)

    return {
        "kinds": [
            {
                "label": label,
                "summary": agreement_stats.summary(rankings) if kind == Task.Kind.RANKING else None,
            }
            for kind, label in Task.Kind.choices
        ],
        "annotators": sorted(
            (
                {"username": names[a], "alpha": m.alpha, "shared_items": m.shared_items, "agreement": own.get(a)}
                for a, m in by_annotator.items()
            ),
            key=lambda row: lowest_first(row["alpha"], row["username"]),
        ),
        "pairs": sorted(
            (
                {"names": sorted([names[first], names[second]]), "alpha": m.alpha, "shared_items": m.shared_items}
                for (first, second), m in pairs.items()
            ),
            key=lambda row: lowest_first(row["alpha"], *row["names"]),
        ),
        "min_shared": agreement_stats.PAIR_MIN_SHARED_ITEMS,
    }


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


def _order_text(groups: list[list[int]]) -> str:
    """A ranking's groups, best first, as "#3 > #1 = #2"."""
    return " > ".join(" = ".join(f"#{candidate_id}" for candidate_id in group) for group in groups)


def prompt_item(*, prompt_id: int) -> dict:
    """One prompt as an admin browses it: its candidates, and each of its
    tasks with the rankings submitted and their consensus, orders written
    out best first. Raises Http404 for an unknown prompt."""
    prompt = Prompt.objects.filter(pk=prompt_id).first()
    if prompt is None:
        raise Http404("No such prompt.")
    tasks = []
    for task in prompt.tasks.select_related("consensus").order_by("id"):
        rankings = Ranking.objects.filter(assignment__task=task).select_related("assignment__annotator").order_by("id")
        consensus = getattr(task, "consensus", None)
        tasks.append(
            {
                "task": task,
                "consensus": consensus,
                "consensus_order": _order_text(consensus.groups) if consensus else "",
                "rankings": [{"ranking": ranking, "order": _order_text(ranking.groups)} for ranking in rankings],
            }
        )
    return {
        "prompt": prompt,
        "candidates": list(prompt.candidates.select_related("model_version").order_by("id")),
        "tasks": tasks,
        "demonstrations": list(prompt.demonstrations.select_related("author", "review_item").order_by("id")),
    }
