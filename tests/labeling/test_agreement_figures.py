"""The standard agreement statistics where admins read them (issue 19): a
preference snapshot stores Krippendorff's alpha and Kendall's W of the
rankings behind its items when it is made, its row on the snapshots page
shows them and keeps them, and the annotators page shows them per task
kind, per annotator and per pair."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from labeling.agreement_stats import PAIR_MIN_SHARED_ITEMS, pairwise_alphas, summary
from labeling.assignments import demonstration_submit, ranking_submit, task_assign_next, task_create_demonstration
from labeling.datasets import snapshot_create
from labeling.models import Assignment, DatasetSnapshot, Ranking

pytestmark = pytest.mark.django_db

FORWARD, SWAPPED, REVERSED = [0, 1, 2], [0, 2, 1], [2, 1, 0]


def _rank(annotator, task, order: list[int]) -> list[list[int]]:
    """`annotator` ranks `task`'s candidates (by id) in `order`, best
    first, through the service the ranking page posts to."""
    candidates = sorted(task.task_candidates.values_list("candidate_id", flat=True))
    assignment = Assignment.objects.create(
        task=task, annotator=annotator, lease_expires_at=timezone.now() + timedelta(minutes=30)
    )
    groups = [[candidates[i]] for i in order]
    ranking_submit(assignment=assignment, groups=groups)
    return groups


@pytest.fixture
def ranked(annotators, make_ranking_task):
    """Three annotators rank four items: two agree, the third swaps two
    answers on half of them. Returns (annotators, item -> annotator -> groups)."""
    people = annotators(3)
    rankings = {}
    for number in range(4):
        task, _ = make_ranking_task(k=3, required=3)
        orders = (FORWARD, FORWARD, SWAPPED if number % 2 else FORWARD)
        rankings[task.pk] = {
            person.pk: _rank(person, task, order) for person, order in zip(people, orders, strict=True)
        }
    return people, rankings


@pytest.fixture
def admin_client(client, make_user):
    client.force_login(make_user(username="boss", role="admin"))
    return client


def _cell(html: str, testid: str) -> str:
    """The text of the first element marked `testid`."""
    return re.search(rf'data-testid="{testid}">([^<]*)<', html).group(1).strip()


class TestSnapshotFigures:
    def test_a_preference_snapshot_stores_alpha_and_w_of_its_rankings(self, ranked):
        _, rankings = ranked
        snapshot = snapshot_create(name="prefs", kind=DatasetSnapshot.Kind.PREFERENCE)
        expected = summary(rankings)
        assert snapshot.agreement_stats == expected.as_dict()
        assert snapshot.agreement_stats["measured_items"] == 4
        assert 0 < expected.alpha < 1 and 0 < expected.w_mean < 1

    def test_the_row_shows_the_stored_figures_after_the_rankings_change(self, ranked, admin_client):
        _, rankings = ranked
        snapshot = snapshot_create(name="prefs", kind=DatasetSnapshot.Kind.PREFERENCE)
        expected = summary(rankings)
        # Every ranking reversed afterwards: the frozen rows do not change,
        # nor do the figures shown with them.
        for ranking in Ranking.objects.all():
            ranking.groups = ranking.groups[::-1]
            ranking.save(update_fields=["groups"])
        html = admin_client.get("/labeling/admin/snapshots/").content.decode()
        assert f'data-id="{snapshot.pk}"' in html
        assert _cell(html, "lab-alpha") == f"{expected.alpha:.2f}"
        assert _cell(html, "lab-w-mean") == f"{expected.w_mean:.2f}"
        assert "over 4 items ranked by 2+ annotators" in html

    def test_an_sft_snapshot_has_no_rankings_to_measure(
        self, annotators, make_prompt, admin_client, demonstrations_judged
    ):
        task_create_demonstration(prompt=make_prompt(), required_annotations=1)
        demonstration_submit(assignment=task_assign_next(annotator=annotators(1)[0]), content="An answer.")
        snapshot = snapshot_create(name="answers", kind=DatasetSnapshot.Kind.SFT)
        assert snapshot.agreement_stats == {}
        html = admin_client.get("/labeling/admin/snapshots/").content.decode()
        assert "No rankings" in html and "lab-alpha" not in html


class TestAnnotatorsPage:
    def test_alpha_and_w_per_kind_annotator_and_pair(self, ranked, admin_client, annotators, make_ranking_task):
        (first, second, third), rankings = ranked
        # A newcomer shares one item with `first`: too few for their alpha.
        newcomer = annotators(1)[0]
        task, _ = make_ranking_task(k=3, required=2)
        rankings[task.pk] = {first.pk: _rank(first, task, FORWARD), newcomer.pk: _rank(newcomer, task, REVERSED)}
        expected = summary(rankings)
        _, by_annotator = pairwise_alphas(rankings)
        html = admin_client.get("/labeling/admin/annotators/").content.decode()

        ranking_kind = html[html.index('data-testid="lab-agreement-kind"') :]
        assert _cell(ranking_kind, "lab-alpha") == f"{expected.alpha:.2f}"
        assert _cell(ranking_kind, "lab-w-mean") == f"{expected.w_mean:.2f}"
        assert "5 items, 4 annotators" in ranking_kind
        assert "No ordinal judgement to compare: the work is free text." in html

        row = html[html.index(f'data-username="{third.username}"') :]
        assert _cell(row, "lab-alpha") == f"{by_annotator[third.pk].alpha:.2f}"
        pair = html[html.index(f'data-pair="{first.username} {second.username}"') :]
        assert f"<td>{first.username} · {second.username}</td><td>4</td>" in pair
        assert _cell(pair, "lab-alpha") == "1.00"
        too_few = html[html.index(f'data-pair="{first.username} {newcomer.username}"') :]
        assert 1 < PAIR_MIN_SHARED_ITEMS
        assert _cell(too_few, "lab-alpha") == "–"
