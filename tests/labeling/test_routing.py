"""Active routing: tasks already started are finished first; among tasks
with as many places taken, the next is the one the reward model is least
sure of or its annotators disagree on, a seeded random share aside;
scoring stores each task's margin from a real (tiny) reward model."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from labeling.assignments import ranking_submit, task_assign_next
from labeling.models import Assignment, Task
from labeling.routing import reward_margins_score, reward_margins_stale, routing_order, smallest_gap
from labeling.selectors import tasks_open_to

pytestmark = pytest.mark.django_db


def _margin(task, value):
    Task.objects.filter(pk=task.pk).update(reward_margin=value)


@pytest.fixture
def routed(settings):
    settings.LABELING_ROUTING = True
    settings.LABELING_ROUTING_RANDOM_SHARE = 0.0
    settings.LABELING_GOLD_RATE = 0.0


def test_smallest_gap():
    assert smallest_gap([2.0, -1.0, 1.5, 0.0]) == pytest.approx(0.5)


def _lease(task, annotator):
    return Assignment.objects.create(
        task=task, annotator=annotator, lease_expires_at=timezone.now() + timedelta(minutes=30)
    )


@pytest.fixture
def two_tasks(make_ranking_task, annotators):
    """(certain, uncertain): the first made and closer to done (one place
    leased), the order without routing; the second one the reward model
    cannot tell apart."""
    certain, _ = make_ranking_task(3)
    uncertain, _ = make_ranking_task(3)
    _margin(certain, 3.0)
    _margin(uncertain, 0.05)
    _lease(certain, annotators(1)[0])
    return certain, uncertain


def test_uncertain_task_started_first_with_routing_on(routed, make_ranking_task, annotators):
    certain, _ = make_ranking_task(3)
    uncertain, _ = make_ranking_task(3)
    _margin(certain, 3.0)
    _margin(uncertain, 0.05)
    assert task_assign_next(annotator=annotators(1)[0], kind="ranking").task_id == uncertain.pk


def test_a_started_task_is_finished_before_an_uncertain_one_is_started(routed, two_tasks, annotators):
    """Only finished items make a snapshot: a place on a new task while a
    started one waits is a ranking that may never count."""
    certain, _ = two_tasks
    assert task_assign_next(annotator=annotators(1)[0], kind="ranking").task_id == certain.pk


def test_routing_off_takes_the_task_closest_to_done(routed, settings, make_ranking_task, annotators):
    settings.LABELING_ROUTING = False
    older, _ = make_ranking_task(3)
    started, _ = make_ranking_task(3)
    _margin(older, 0.05)
    _lease(started, annotators(1)[0])
    assert task_assign_next(annotator=annotators(1)[0], kind="ranking").task_id == started.pk


def test_disagreement_counts_like_uncertainty(routed, make_ranking_task, annotators):
    """Of two tasks ranked twice, the one whose annotators ranked in
    opposite orders comes before one the model is surer of whose
    annotators agreed."""
    agreed, a = make_ranking_task(3)
    disputed, d = make_ranking_task(3)
    _margin(disputed, 3.0)
    _margin(agreed, 1.5)
    first, second, third = annotators(3)
    for annotator, order in ((first, d), (second, d[::-1])):
        ranking_submit(assignment=_lease(disputed, annotator), groups=[[x.pk] for x in order])
    for annotator in (first, second):
        ranking_submit(assignment=_lease(agreed, annotator), groups=[[x.pk] for x in a])
    assert task_assign_next(annotator=third, kind="ranking").task_id == disputed.pk


def test_random_share_is_honoured(routed, settings, make_ranking_task, annotators):
    """With a share of 0.5 over ten open tasks, the uncertain one comes
    first in half the picks plus a tenth of the random half (seeded)."""
    settings.LABELING_ROUTING_RANDOM_SHARE = 0.5
    tasks = [make_ranking_task(3)[0] for _ in range(10)]
    for task in tasks:
        _margin(task, 4.0)
    _margin(tasks[6], 0.0)
    (annotator,) = annotators(1)
    rng = random.Random(3)
    picks = [routing_order(tasks_open_to(annotator=annotator), limit=3, rng=rng)[0] for _ in range(1000)]
    share = sum(pick == tasks[6].pk for pick in picks) / len(picks)
    assert 0.5 + 0.05 - 0.04 < share < 0.5 + 0.05 + 0.04
    assert len(set(picks)) == 10, "the random share reaches every open task"


def test_the_random_share_finishes_started_tasks_first(routed, settings, make_ranking_task, annotators):
    settings.LABELING_ROUTING_RANDOM_SHARE = 1.0
    tasks = [make_ranking_task(3)[0] for _ in range(5)]
    first, second = annotators(2)
    _lease(tasks[3], first)
    rng = random.Random(5)
    orders = [routing_order(tasks_open_to(annotator=second), limit=5, rng=rng) for _ in range(50)]
    assert {order[0] for order in orders} == {tasks[3].pk}
    assert len({tuple(order[1:]) for order in orders}) > 1, "the tasks not started come in random order"


@pytest.fixture
def reward_version(tiny_model_dir, tmp_path):
    """A registered reward model: a random score head on the tiny model."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from registry.models import ModelVersion

    out = tmp_path / "reward"
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=1)
    torch.nn.init.normal_(model.score.weight, std=0.5)
    model.config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return ModelVersion.objects.create(name="tiny-reward", kind="reward", source="imported", path=str(out))


def test_scoring_stores_the_margin_once(settings, make_ranking_task, reward_version):
    settings.GENERATION_DEVICE = "cpu"
    task, _ = make_ranking_task(3)
    assert reward_margins_stale() == [task.pk]
    assert reward_margins_score(task_ids=[task.pk]) == 1
    task.refresh_from_db()
    assert task.reward_margin is not None and task.reward_margin >= 0
    assert task.reward_margin_version == reward_version
    assert reward_margins_stale() == []
    assert reward_margins_score(task_ids=[task.pk]) == 0, "already scored by this model"
