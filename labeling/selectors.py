"""Reads of the labeling app: annotators' weights and agreement, the items
a snapshot's filters select, and snapshots' frozen rows."""
import hashlib
import json
from datetime import date

from django.conf import settings
from django.db.models import Avg, Count, F, QuerySet
from django.db.models.functions import TruncWeek

from .errors import LabelingError
from .models import AnnotatorStats, DatasetSnapshot, Demonstration, Prompt, Ranking, Task, TaskCandidate


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
    DatasetSnapshot.Kind.PREFERENCE: _COMMON_FILTERS | {"min_agreement"},
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
    and items whose candidates all tie (they hold no preference)."""
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
        raise LabelingError("missing", f"The file of {snapshot} cannot be read: {error.strerror}.") from None
    if hashlib.sha256(data).hexdigest() != snapshot.content_hash:
        raise LabelingError("tampered", f"The file of {snapshot} no longer has its recorded hash; it was changed.")
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]
