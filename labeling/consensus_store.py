"""Consensus as it is stored: each ranking task's consensus, each ranking's
agreement with the others, each annotator's agreement and vote weight, and
what consensus sends to the moderators. The arithmetic is labeling.consensus
(plain Python); this module reads the votes and writes its results.
"""

from django.db import transaction
from django.db.models import Count, Sum

from .batches import BATCH_SIZE
from .consensus import PRIOR_WEIGHT, ItemConsensus, fit, item_consensus, weight_for, weighted_votes
from .models import (
    CANDIDATE_FLAGS,
    FLAG_HARMFUL,
    FLAG_SPAM,
    AnnotatorStats,
    Assignment,
    Candidate,
    Consensus,
    Ranking,
    Task,
    TaskCandidate,
)


def _ranking_votes(task: Task | None = None) -> dict[int, dict[int, tuple[int, list, bool, dict]]]:
    """task -> annotator -> (ranking id, groups, none acceptable, flags), of
    one task or of all; gold answers (labeling.gold) are tests, not votes."""
    votes: dict[int, dict] = {}
    rankings = Ranking.objects.filter(assignment__state=Assignment.State.SUBMITTED, gold_answer__isnull=True)
    if task is not None:
        rankings = rankings.filter(assignment__task=task)
    rows = rankings.values_list(
        "id", "assignment__task_id", "assignment__annotator_id", "groups", "none_acceptable", "flags"
    )
    for pk, task_id, annotator_id, groups, none_acceptable, flags in rows:
        votes.setdefault(task_id, {})[annotator_id] = (pk, groups, none_acceptable, flags)
    return votes


def _stored_weights(annotator_ids: list[int]) -> dict[int, float]:
    """Vote weights of those annotators who have any; the others count at
    the prior (labeling.consensus.PRIOR_WEIGHT)."""
    return dict(AnnotatorStats.objects.filter(annotator_id__in=annotator_ids).values_list("annotator_id", "weight"))


def _store_consensus(votes, items: dict[int, ItemConsensus], weights: dict[int, float]) -> None:
    """Writes each task's consensus and each ranking's leave-one-out
    agreement."""
    rows, rankings = [], []
    for task_id, item in items.items():
        by_annotator = votes[task_id]
        none_acceptable, flags = weighted_votes(
            [
                (weights.get(a, PRIOR_WEIGHT), said, {int(k): v for k, v in marks.items()})
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
        rankings += [Ranking(pk=pk, agreement=item.ranking_agreement[a]) for a, (pk, _, _, _) in by_annotator.items()]
    Consensus.objects.bulk_create(
        rows,
        batch_size=BATCH_SIZE,
        update_conflicts=True,
        unique_fields=["task"],
        update_fields=[
            "method",
            "groups",
            "scores",
            "agreement",
            "num_rankings",
            "none_acceptable",
            "flags",
            "updated_at",
        ],
    )
    Ranking.objects.bulk_update(rankings, ["agreement"], batch_size=BATCH_SIZE)
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
        batch_size=BATCH_SIZE,
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
    weights = _stored_weights(list(by_annotator))
    item = item_consensus({a: groups for a, (_, groups, _, _) in by_annotator.items()}, weights)
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
            for smoothed, weight in [weight_for(total, count)]
        }
    )


def quality_refresh() -> int:
    """Fits every annotator's weight and every ranking task's consensus
    together (see labeling.consensus.fit) and stores both. Returns the
    number of tasks. Snapshots call it, so a dataset is made from settled
    weights."""
    with transaction.atomic():
        votes = _ranking_votes()
        fitted = fit({t: {a: groups for a, (_, groups, _, _) in by_a.items()} for t, by_a in votes.items()})
        weights = {a: weight for a, (_, _, weight) in fitted.annotators.items()}
        _store_consensus(votes, fitted.items, weights)
        _store_stats(fitted.annotators)
    return len(votes)
