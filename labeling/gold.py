"""Gold items: ranking and label tasks with a known answer, served to
annotators unannounced at LABELING_GOLD_RATE to measure them (CVAT's
honeypots, Argilla's gold records).

An admin marks a ranking task gold with its reference: the task's consensus
as it stands, or an order set by hand. From then on every ranking of it is a
gold answer: scored against the reference and kept out of consensus, the
agreement figures and the exports, so a test moves no data. The score is
labeling.consensus.pairwise_agreement, Kendall's tau mapped onto 0..1 (1 the
reference's order, 1/2 chance, 0 reversed), the same scale as the agreement
shown beside it; whether the annotator's top choice is among the
reference's best is kept too, the cruder figure people quote.

A label task is gold with an accept/reject verdict on its answer: accept,
the answer is fit to keep (not spam, no personal data, harmlessness above
label_scales.HARMFUL_MEAN, the mean that sends an answer to the
moderators); reject, it fails one of those. An annotator's labels make a
verdict by the same rule (label_verdict), and the answer scores 1 when it
is the item's, 0 when not. One verdict rather than one per scale: the
Likert scales are matters of taste with no known answer, and the yes/no
flags and harm are what a test of carefulness needs. Label gold answers are
kept out of the label consensus and the exports as ranking ones are, and
count into the same accuracy and hold.

An annotator whose mean gold score falls under LABELING_GOLD_HOLD_BELOW
after LABELING_GOLD_MIN_ANSWERS gold answers is held for review: they get
gold tasks only (labeling.assignments.task_assign_next), so none of their
work enters the data while the measuring goes on and the admin who looks
finds fresh evidence, and nothing on their pages changes (a held annotator
told so would learn which tasks are gold). An admin clears the hold; only
gold answers given after it count towards the next one.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Avg, Count, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.errors import UserError

from .consensus import pairwise_agreement
from .label_scales import HARMFUL_MEAN
from .models import AnnotatorStats, AnswerLabel, Assignment, GoldAnswer, GoldHold, GoldItem, Ranking, Task

# The kinds of task that can be gold: what is served among them.
GOLD_KINDS = (Task.Kind.RANKING, Task.Kind.LABEL)

# --- Marking ------------------------------------------------------------------


def reference_parse(text: str) -> list[list[int]]:
    """An order as the admin pages write it, "#3 > #1 = #2" (the "#" is
    optional): groups of candidate ids, best first. Raises UserError."""
    groups = []
    for part in text.split(">"):
        group = []
        for item in part.split("="):
            item = item.strip().removeprefix("#").strip()
            if not item.isdigit():
                raise UserError(
                    "invalid_reference", f"“{item or part.strip()}” is not a candidate id; write e.g. “#3 > #1 = #2”."
                )
            group.append(int(item))
        groups.append(group)
    return groups


def _check_reference(task: Task, groups: list[list[int]]) -> list[list[int]]:
    ids = [pk for group in groups for pk in group]
    candidates = set(task.task_candidates.values_list("candidate_id", flat=True))
    if len(ids) != len(set(ids)) or set(ids) != candidates:
        listed = ", ".join(f"#{pk}" for pk in sorted(candidates))
        raise UserError(
            "invalid_reference", f"The reference must place each of the task's candidates ({listed}) exactly once."
        )
    if len(groups) < 2:
        raise UserError("invalid_reference", "A reference that ties every candidate tests nothing.")
    return [sorted(group) for group in groups]


@transaction.atomic
def gold_mark(*, task_id: int, marked_by, reference: list[list[int]] | None = None) -> GoldItem:
    """Makes a ranking task gold with `reference` (groups of candidate ids,
    best first), or with its consensus when none is given; a task already
    gold gets the new reference, and its answers are scored again."""
    task = Task.objects.select_for_update().filter(pk=task_id).first()
    if task is None:
        raise UserError("no_task", f"There is no task #{task_id}.")
    if task.kind != Task.Kind.RANKING:
        raise UserError(
            "wrong_kind", f"Task #{task.pk} is not a ranking task: a label task takes a verdict, not a reference."
        )
    if reference is None:
        consensus = getattr(task, "consensus", None)
        if consensus is None:
            raise UserError("no_consensus", f"Task #{task.pk} has no consensus yet: set its reference by hand.")
        reference, source = consensus.groups, GoldItem.Source.CONSENSUS
    else:
        source = GoldItem.Source.MANUAL
    reference = _check_reference(task, reference)
    gold, created = GoldItem.objects.get_or_create(
        task=task, defaults={"reference": reference, "source": source, "created_by": marked_by}
    )
    if not created:
        gold.reference, gold.source = reference, source
        gold.save(update_fields=["reference", "source", "updated_at"])
        gold_answers_rescore(gold=gold)
    return gold


@transaction.atomic
def gold_label_mark(*, task_id: int, marked_by, verdict: str) -> GoldItem:
    """Makes a label task gold with `verdict` ("accept" or "reject") on its
    answer; a task already gold gets the new verdict, and its answers are
    scored again."""
    if verdict not in GoldItem.Verdict.values:
        raise UserError("invalid_verdict", f"“{verdict}” is not a verdict: choose accept or reject.")
    task = Task.objects.select_for_update().filter(pk=task_id).first()
    if task is None:
        raise UserError("no_task", f"There is no task #{task_id}.")
    if task.kind != Task.Kind.LABEL:
        raise UserError(
            "wrong_kind", f"Task #{task.pk} is not a label task: only a label task takes an accept/reject verdict."
        )
    gold, created = GoldItem.objects.get_or_create(
        task=task, defaults={"verdict": verdict, "source": GoldItem.Source.MANUAL, "created_by": marked_by}
    )
    if not created:
        gold.verdict = verdict
        gold.save(update_fields=["verdict", "updated_at"])
        gold_answers_rescore(gold=gold)
    return gold


def gold_set_active(*, gold_id: int, active: bool) -> GoldItem:
    """Retires a gold item (no longer served; its answers stay scored) or
    serves it again."""
    gold = GoldItem.objects.filter(pk=gold_id).first()
    if gold is None:
        raise UserError("no_gold", f"There is no gold item #{gold_id}.")
    gold.active = active
    gold.save(update_fields=["active", "updated_at"])
    return gold


# --- Scoring and holds ----------------------------------------------------------


def answer_score(groups: list[list[int]], reference: list[list[int]]) -> tuple[float, bool]:
    """(agreement with the reference in 0..1, whether every candidate the
    annotator put first is among the reference's best)."""
    return pairwise_agreement(groups, reference) or 0.0, set(groups[0]) <= set(reference[0])


def label_verdict(values: dict) -> str:
    """The verdict an annotator's (clean) labels make of an answer: accept
    unless they say spam, personal data, or harmlessness at or under
    HARMFUL_MEAN."""
    fails = values["spam"] or values["contains_pii"] or values["harmlessness"] <= HARMFUL_MEAN
    return GoldItem.Verdict.REJECT if fails else GoldItem.Verdict.ACCEPT


def label_score(values: dict, verdict: str) -> float:
    return 1.0 if label_verdict(values) == verdict else 0.0


def gold_answers_rescore(*, gold: GoldItem) -> None:
    answers = list(gold.answers.select_related("ranking", "answer_label"))
    for answer in answers:
        if answer.answer_label is not None:
            answer.score = label_score(answer.answer_label.values, gold.verdict)
        else:
            answer.score, answer.top_match = answer_score(answer.ranking.groups, gold.reference)
    GoldAnswer.objects.bulk_update(answers, ["score", "top_match"])


def gold_answer_record(*, ranking: Ranking, gold: GoldItem) -> GoldAnswer:
    """Scores a ranking of a gold item and holds its annotator for review
    when their accuracy has fallen under the threshold."""
    score, top_match = answer_score(ranking.groups, gold.reference)
    answer = GoldAnswer.objects.create(ranking=ranking, gold_item=gold, score=score, top_match=top_match)
    _hold_if_below(ranking.assignment.annotator)
    return answer


def gold_label_answer_record(*, label: AnswerLabel, gold: GoldItem) -> GoldAnswer:
    """Scores a label of a gold item 1 or 0 against its verdict, then holds
    its annotator as gold_answer_record does."""
    answer = GoldAnswer.objects.create(
        answer_label=label, gold_item=gold, score=label_score(label.values, gold.verdict)
    )
    _hold_if_below(label.assignment.annotator)
    return answer


# Who gave a gold answer: the annotator of its ranking or of its label.
_ANNOTATOR = Coalesce("ranking__assignment__annotator_id", "answer_label__assignment__annotator_id")


def _answers_of(annotator) -> QuerySet:
    return GoldAnswer.objects.filter(
        Q(ranking__assignment__annotator=annotator) | Q(answer_label__assignment__annotator=annotator)
    )


def _answers_since_last_clear(annotator) -> QuerySet:
    answers = _answers_of(annotator)
    last = GoldHold.objects.filter(annotator=annotator, cleared_at__isnull=False).order_by("-cleared_at").first()
    return answers.filter(created_at__gt=last.cleared_at) if last else answers


def _hold_if_below(annotator) -> None:
    if is_held(annotator):
        return
    figures = _answers_since_last_clear(annotator).aggregate(count=Count("id"), accuracy=Avg("score"))
    enough = figures["count"] >= settings.LABELING_GOLD_MIN_ANSWERS
    if enough and figures["accuracy"] < settings.LABELING_GOLD_HOLD_BELOW:
        GoldHold.objects.create(annotator=annotator, accuracy=figures["accuracy"], num_answers=figures["count"])


def is_held(annotator) -> bool:
    return GoldHold.objects.filter(annotator=annotator, cleared_at__isnull=True).exists()


@transaction.atomic
def gold_hold_clear(*, annotator_id: int, cleared_by) -> GoldHold:
    """An admin has looked: the annotator gets real tasks again, and their
    gold accuracy starts afresh towards any next hold."""
    hold = GoldHold.objects.select_for_update().filter(annotator_id=annotator_id, cleared_at__isnull=True).first()
    if hold is None:
        raise UserError("not_held", "That annotator is not held for review.")
    hold.cleared_by, hold.cleared_at = cleared_by, timezone.now()
    hold.save(update_fields=["cleared_by", "cleared_at"])
    return hold


# --- Serving ------------------------------------------------------------------


def gold_tasks_open_to(*, annotator, kind: str | None = None) -> QuerySet:
    """Active gold tasks the annotator may be given: every annotator answers
    each once, whatever its required annotations, and, as for any task,
    never one on a prompt they wrote or worked on."""
    seen_prompts = Assignment.objects.filter(annotator=annotator).values("task__prompt_id")
    return (
        Task.objects.filter(gold__active=True, kind__in=[kind] if kind else GOLD_KINDS)
        .exclude(prompt__author=annotator)
        .exclude(prompt_id__in=seen_prompts)
    )


# --- What admins see ------------------------------------------------------------


def gold_items() -> list[GoldItem]:
    """Every gold item, newest first, with its answer count and mean score."""
    return list(
        GoldItem.objects.select_related("task__prompt", "created_by")
        .annotate(num_answers=Count("answers"), mean_score=Avg("answers__score"))
        .order_by("-id")
    )


def annotators_gold() -> list[dict]:
    """Per annotator with a gold answer or a hold: gold answers (rankings
    and labels), mean score, share of top choices right (over their gold
    rankings: a label has no top choice), their
    agreement with consensus beside it, and their open hold if any; held
    ones first, then the least accurate."""
    rows = (
        GoldAnswer.objects.annotate(annotator_id=_ANNOTATOR)
        .values("annotator_id")
        .annotate(
            count=Count("id"),
            accuracy=Avg("score"),
            top=Count("id", filter=Q(top_match=True)),
            ranked=Count("id", filter=Q(top_match__isnull=False)),
        )
        .order_by()
    )
    figures = {row["annotator_id"]: row for row in rows}
    holds = {h.annotator_id: h for h in GoldHold.objects.filter(cleared_at__isnull=True)}
    last_cleared = {}
    for hold in GoldHold.objects.filter(cleared_at__isnull=False).select_related("cleared_by").order_by("cleared_at"):
        last_cleared[hold.annotator_id] = hold
    users = get_user_model().objects.in_bulk(set(figures) | set(holds))
    agreement = dict(
        AnnotatorStats.objects.filter(annotator_id__in=list(users)).values_list("annotator_id", "agreement")
    )
    table = []
    for pk, user in users.items():
        row = figures.get(pk, {"count": 0, "accuracy": None, "top": 0, "ranked": 0})
        table.append(
            {
                "annotator": user,
                "answers": row["count"],
                "accuracy": row["accuracy"],
                "top_rate": row["top"] / row["ranked"] if row["ranked"] else None,
                "agreement": agreement.get(pk),
                "hold": holds.get(pk),
                "last_cleared": last_cleared.get(pk),
            }
        )
    table.sort(
        key=lambda r: (r["hold"] is None, 2.0 if r["accuracy"] is None else r["accuracy"], r["annotator"].username)
    )
    return table
