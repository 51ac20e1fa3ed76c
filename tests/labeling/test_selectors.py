from datetime import timedelta

import pytest
from django.utils import timezone

from labeling.assignments import ranking_submit, task_assign_next
from labeling.models import Ranking
from labeling.selectors import annotator_agreement_history

pytestmark = pytest.mark.django_db


def test_agreement_history_by_week(annotators, make_ranking_task):
    first, second = annotators(2)
    task, candidates = make_ranking_task(required=2)
    order = [[c.pk] for c in candidates]
    ranking_submit(assignment=task_assign_next(annotator=first), groups=order)
    ranking_submit(assignment=task_assign_next(annotator=second), groups=order[::-1])
    Ranking.objects.filter(assignment__annotator=first).update(created_at=timezone.now() - timedelta(days=14))
    task, candidates = make_ranking_task(required=2)
    order = [[c.pk] for c in candidates]
    ranking_submit(assignment=task_assign_next(annotator=first), groups=order)
    ranking_submit(assignment=task_assign_next(annotator=second), groups=order)
    history = annotator_agreement_history(annotator=first)
    assert [(row["agreement"], row["rankings"]) for row in history] == [(0.0, 1), (1.0, 1)]
    assert history[0]["week"] < history[1]["week"]
