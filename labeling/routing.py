"""Active routing: which open ranking task an annotator gets next.

A ranking teaches the reward model most where it cannot yet tell the
candidates apart or where the people who ranked the item so far disagree.
Each ranking task is scored once by the current reward model when its
candidates are ready (`reward_margins_score`, run by the Celery task
labeling.tasks.reward_margins_score_task on the generation queue, where
models are loaded): the smallest gap between two candidates' scores, in the
standard units the model saved, is stored on the task. Its priority is the
larger of

- uncertainty 2 / (1 + e^|margin|): 1 at a zero gap, 0.54 at one standard
  deviation, towards 0 beyond (it is 1 - |2p - 1| for the Bradley-Terry
  probability p = sigmoid(margin)); 0.5 while the task is not scored;
- disagreement 2 * (1 - agreement) capped at 1, from the agreement of the
  rankings already in (labeling.consensus: 1 identical, 1/2 chance); 0
  before two rankings.

Routing chooses which task to start, not whether to finish one: every
order takes first the tasks closest to done (most places taken), and the
priority (or, for a share of picks, LABELING_ROUTING_RANDOM_SHARE, chance)
orders tasks with as many places taken, which is where new tasks are
chosen. Only finished items enter a snapshot, so a ranking that starts a
new task while another waits for its last place is wasted when the
rankings stop there: the routing benchmark (bench/flywheel_routing.py)
measured a priority that outranked places taken finishing 52 items of 60
from the same 180 rankings, and its reward model falling 0.045 below the
order without routing (95% interval -0.079..-0.004). With
LABELING_ROUTING off the order is closest to done, then the oldest.

The reward model is the registered version named by
LABELING_ROUTING_REWARD_MODEL, else the newest reward model: a reward model
does not serve anything, so the newest one trained is the current one.
"""

import random
from functools import lru_cache

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Count, F, FloatField, Q, QuerySet, Value, When
from django.db.models.functions import Abs, Exp, Greatest, Least

from registry.models import ModelVersion

from .models import Assignment, Task

# Beyond this margin (in standard deviations) uncertainty is nil anyway;
# the cap keeps exp() in range.
MARGIN_CAP = 30.0
UNSCORED_UNCERTAINTY = 0.5


def routing_reward_model() -> ModelVersion | None:
    reward = ModelVersion.objects.filter(kind=ModelVersion.Kind.REWARD)
    if settings.LABELING_ROUTING_REWARD_MODEL:
        return reward.filter(name=settings.LABELING_ROUTING_REWARD_MODEL).first()
    return reward.order_by("-created_at", "-id").first()


def smallest_gap(scores: list[float]) -> float:
    """The smallest difference between any two scores (of adjacent ones
    once sorted): the pair the model is least sure how to order."""
    ordered = sorted(scores)
    return min(b - a for a, b in zip(ordered, ordered[1:], strict=False))


def _priority() -> Greatest:
    # Cases rather than Coalesce: PostgreSQL's LEAST and GREATEST skip
    # NULLs, so an unscored task would come out certain and one without
    # rankings in full disagreement.
    uncertainty = Case(
        When(reward_margin__isnull=True, then=Value(UNSCORED_UNCERTAINTY)),
        default=Value(2.0) / (Value(1.0) + Exp(Least(Abs(F("reward_margin")), Value(MARGIN_CAP)))),
        output_field=FloatField(),
    )
    disagreement = Case(
        When(consensus__agreement__isnull=True, then=Value(0.0)),
        default=Least(Value(2.0) * (Value(1.0) - F("consensus__agreement")), Value(1.0)),
        output_field=FloatField(),
    )
    return Greatest(uncertainty, disagreement, output_field=FloatField())


def routing_order(open_tasks: QuerySet, *, limit: int, rng: random.Random) -> list[int]:
    """Up to `limit` ids of `open_tasks` (annotated with `taken`) in the
    order to try them: closest to done first, then by priority, or at
    random for the random share, or the oldest with routing off."""
    if not settings.LABELING_ROUTING:
        return list(open_tasks.order_by("-taken", "id").values_list("id", flat=True)[:limit])
    if rng.random() < settings.LABELING_ROUTING_RANDOM_SHARE:
        rows = list(open_tasks.order_by("id").values_list("id", "taken"))
        rows.sort(key=lambda row: (-row[1], rng.random()))
        return [task_id for task_id, _ in rows[:limit]]
    ordered = open_tasks.annotate(priority=_priority()).order_by("-taken", "-priority", "id")
    return list(ordered.values_list("id", flat=True)[:limit])


# --- Scoring ------------------------------------------------------------------


def reward_margins_request(*, task_ids: list[int]) -> None:
    """Queues the scoring of these ranking tasks once the transaction that
    made them commits; nothing when routing is off or no reward model
    exists yet (tasks are then routed on disagreement alone)."""
    if not settings.LABELING_ROUTING or not task_ids or routing_reward_model() is None:
        return
    from .tasks import reward_margins_score_task

    transaction.on_commit(lambda: reward_margins_score_task.delay(task_ids))


def reward_margins_stale() -> list[int]:
    """Ranking tasks still short of their submitted rankings that the
    current reward model has not scored (made before it, or before any):
    what to score again after training one."""
    model = routing_reward_model()
    if model is None:
        return []
    submitted = Count("assignments", filter=Q(assignments__state=Assignment.State.SUBMITTED))
    return list(
        Task.objects.filter(kind=Task.Kind.RANKING, required_annotations__gt=0)
        .exclude(reward_margin_version=model)
        .annotate(submitted=submitted)
        .filter(submitted__lt=F("required_annotations"))
        .values_list("id", flat=True)
    )


@lru_cache(maxsize=1)
def _judge(path: str):
    from training.device import resolve_device
    from training.reward import RewardJudge

    return RewardJudge.load(path, resolve_device(settings.GENERATION_DEVICE))


def reward_margins_score(*, task_ids: list[int]) -> int:
    """Scores each ranking task's candidates with the current reward model
    and stores the smallest gap; returns how many were scored. Tasks gone
    or already scored by this model are passed over."""
    model = routing_reward_model()
    if model is None:
        return 0
    tasks = (
        Task.objects.filter(pk__in=task_ids, kind=Task.Kind.RANKING)
        .exclude(reward_margin_version=model)
        .select_related("prompt")
    )
    judge = _judge(model.path)
    scored = []
    for task in tasks:
        candidates = [link.candidate for link in task.task_candidates.select_related("candidate")]
        if len(candidates) < 2:
            continue
        scores = judge.score([task.prompt.messages] * len(candidates), [c.text for c in candidates]).tolist()
        task.reward_margin, task.reward_margin_version = smallest_gap(scores), model
        scored.append(task)
    Task.objects.bulk_update(scored, ["reward_margin", "reward_margin_version"])
    return len(scored)
