"""Gold items: marking, unannounced serving at the set rate, scoring, their
answers kept out of consensus and the exports, and the hold for review."""

import random
import re

import pytest

from accounts.models import User
from core.errors import UserError
from labeling.assignments import ranking_submit, task_assign_next
from labeling.datasets import snapshot_create
from labeling.gold import answer_score, gold_hold_clear, gold_mark, is_held, reference_parse
from labeling.models import Consensus, DatasetSnapshot, Demonstration, GoldAnswer, GoldHold, Ranking, Task
from labeling.selectors import agreement_overview

pytestmark = pytest.mark.django_db


@pytest.fixture
def ranked_task(make_ranking_task, annotators):
    """A ranking task ranked by three annotators the same way, so its
    consensus is candidate 0 > 1 > 2; returns (task, candidates)."""
    task, candidates = make_ranking_task(3)
    for annotator in annotators(3):
        assignment = task_assign_next(annotator=annotator, kind="ranking")
        ranking_submit(assignment=assignment, groups=[[c.pk] for c in candidates])
    return task, candidates


def _best_first(candidates, order):
    return [[candidates[i].pk] for i in order]


class TestMarking:
    def test_from_consensus(self, ranked_task, make_user):
        task, candidates = ranked_task
        gold = gold_mark(task_id=task.pk, marked_by=make_user(role="admin"))
        assert gold.reference == _best_first(candidates, [0, 1, 2])
        assert gold.source == "consensus"

    def test_by_hand_and_again_rescores(self, make_ranking_task, annotators, settings):
        settings.LABELING_GOLD_RATE = 1.0
        task, c = make_ranking_task(3)
        gold = gold_mark(
            task_id=task.pk, marked_by=None, reference=reference_parse(f"#{c[2].pk} > #{c[1].pk} = #{c[0].pk}")
        )
        assert gold.reference == [[c[2].pk], sorted([c[0].pk, c[1].pk])] and gold.source == "manual"
        (annotator,) = annotators(1)
        assignment = task_assign_next(annotator=annotator, kind="ranking")
        ranking = ranking_submit(assignment=assignment, groups=_best_first(c, [0, 1, 2]))
        assert ranking.gold_answer.score == pytest.approx(1 / 6)
        gold_mark(task_id=task.pk, marked_by=None, reference=_best_first(c, [0, 1, 2]))
        ranking.gold_answer.refresh_from_db()
        assert ranking.gold_answer.score == 1.0 and ranking.gold_answer.top_match

    @pytest.mark.parametrize(
        "text, message",
        [("#1 > banana", "not a candidate id"), ("", "not a candidate id")],
    )
    def test_unreadable_reference(self, text, message):
        with pytest.raises(UserError, match=message):
            reference_parse(text)

    def test_reference_must_place_every_candidate_once(self, make_ranking_task):
        task, c = make_ranking_task(3)
        for groups in (
            [[c[0].pk], [c[1].pk]],
            [[c[0].pk], [c[1].pk], [c[1].pk, c[2].pk]],
            [[c[0].pk, c[1].pk, c[2].pk]],
        ):
            with pytest.raises(UserError):
                gold_mark(task_id=task.pk, marked_by=None, reference=groups)
        assert not hasattr(Task.objects.get(pk=task.pk), "gold")

    def test_no_consensus_no_reference(self, make_ranking_task):
        task, _ = make_ranking_task(3)
        with pytest.raises(UserError, match="no consensus"):
            gold_mark(task_id=task.pk, marked_by=None)

    def test_only_ranking_tasks(self, make_prompt):
        from labeling.assignments import task_create_demonstration

        task = task_create_demonstration(prompt=make_prompt())
        with pytest.raises(UserError, match="is not a ranking task"):
            gold_mark(task_id=task.pk, marked_by=None, reference=[[1], [2]])


class TestScoring:
    @pytest.mark.parametrize(
        "answer, score, top",
        [
            ([[1], [2], [3]], 1.0, True),
            ([[3], [2], [1]], 0.0, False),
            ([[1, 2], [3]], 5 / 6, False),
            ([[1], [3], [2]], 2 / 3, True),
        ],
    )
    def test_kendall_tau_on_zero_to_one_and_top_choice(self, answer, score, top):
        assert answer_score(answer, [[1], [2], [3]]) == (pytest.approx(score), top)


class TestServing:
    def test_rate_is_honoured(self, make_ranking_task, annotators, settings):
        """Over many annotators, the share handed a gold item first is the
        rate (seeded), when both kinds are open."""
        settings.LABELING_GOLD_RATE = 0.25
        gold_task, c = make_ranking_task(3)
        gold_mark(task_id=gold_task.pk, marked_by=None, reference=_best_first(c, [0, 1, 2]))
        make_ranking_task(3, required=1000)
        rng = random.Random(7)
        # Made in bulk: hashing 300 passwords would take minutes.
        people = User.objects.bulk_create([User(username=f"many{i}", role="annotator") for i in range(300)])
        gold = sum(task_assign_next(annotator=a, kind="ranking", rng=rng).task_id == gold_task.pk for a in people)
        assert 0.2 < gold / len(people) < 0.3

    def test_rate_zero_never_serves_gold(self, make_ranking_task, annotators, settings):
        settings.LABELING_GOLD_RATE = 0.0
        gold_task, c = make_ranking_task(3)
        gold_mark(task_id=gold_task.pk, marked_by=None, reference=_best_first(c, [0, 1, 2]))
        (annotator,) = annotators(1)
        assert task_assign_next(annotator=annotator, kind="ranking") is None

    def test_served_past_its_required_annotations_once_per_annotator(self, ranked_task, annotators, settings):
        settings.LABELING_GOLD_RATE = 1.0
        task, candidates = ranked_task
        gold_mark(task_id=task.pk, marked_by=None)
        for annotator in annotators(5):
            assignment = task_assign_next(annotator=annotator, kind="ranking")
            assert assignment.task_id == task.pk
            ranking_submit(assignment=assignment, groups=_best_first(candidates, [2, 1, 0]))
            assert task_assign_next(annotator=annotator, kind="ranking") is None

    def test_retired_gold_is_not_served(self, ranked_task, annotators, settings):
        from labeling.gold import gold_set_active

        settings.LABELING_GOLD_RATE = 1.0
        task, _ = ranked_task
        gold = gold_mark(task_id=task.pk, marked_by=None)
        gold_set_active(gold_id=gold.pk, active=False)
        (annotator,) = annotators(1)
        assert task_assign_next(annotator=annotator, kind="ranking") is None

    def test_page_of_a_gold_task_is_that_of_a_real_one(self, make_ranking_task, annotators, client, settings):
        """Nothing in the ranking page tells: the two pages differ only in
        their ids, texts and the order the candidates are shown in."""
        settings.LABELING_GOLD_RATE = 1.0
        real_task, _ = make_ranking_task(3, prompt=None)
        gold_task, c = make_ranking_task(3)
        gold_mark(task_id=gold_task.pk, marked_by=None, reference=_best_first(c, [0, 1, 2]))
        (annotator,) = annotators(1)
        client.force_login(annotator)
        pages = []
        for expected in (gold_task, real_task):
            settings.LABELING_GOLD_RATE = 1.0 if expected is gold_task else 0.0
            response = client.get("/labeling/ranking/next/", follow=True)
            assignment = response.context["assignment"]
            assert assignment.task_id == expected.pk
            html = response.content.decode()
            for candidate in expected.task_candidates.select_related("candidate"):
                html = html.replace(candidate.candidate.text, "TEXT")
            html = html.replace(expected.prompt.messages[-1]["content"], "QUESTION")
            html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
            pages.append(sorted(re.sub(r"\d+", "0", html).splitlines()))
            ranking_submit(assignment=assignment, groups=[[c.pk] for c in response.context["candidates"]])
        assert pages[0] == pages[1]
        assert "gold" not in "\n".join(pages[0]).lower()


class TestKeptOutOfTheData:
    def test_gold_answers_change_no_consensus_agreement_or_export(self, ranked_task, annotators, settings):
        settings.LABELING_GOLD_RATE = 1.0
        task, candidates = ranked_task
        before = snapshot_create(name="before", kind=DatasetSnapshot.Kind.PREFERENCE)
        consensus = Consensus.objects.get(task=task)
        overview = agreement_overview()
        gold_mark(task_id=task.pk, marked_by=None)
        for annotator in annotators(3):
            assignment = task_assign_next(annotator=annotator, kind="ranking")
            ranking_submit(
                assignment=assignment,
                groups=_best_first(candidates, [2, 1, 0]),
                better_answer="A better answer than any of these.",
            )
        after = snapshot_create(name="after", kind=DatasetSnapshot.Kind.PREFERENCE)
        assert before.item_count == 1
        assert (after.item_count, after.content_hash) == (before.item_count, before.content_hash)
        fresh = Consensus.objects.get(task=task)
        assert (fresh.groups, fresh.num_rankings, fresh.agreement) == (
            consensus.groups,
            consensus.num_rankings,
            consensus.agreement,
        )
        assert agreement_overview()["annotators"] == overview["annotators"]
        assert GoldAnswer.objects.count() == 3
        assert not Ranking.objects.filter(gold_answer__isnull=False, agreement__isnull=False).exists()
        assert not Demonstration.objects.exists()


class TestHold:
    def _gold_tasks(self, make_ranking_task, count):
        tasks = []
        for _ in range(count):
            task, c = make_ranking_task(3)
            gold_mark(task_id=task.pk, marked_by=None, reference=_best_first(c, [0, 1, 2]))
            tasks.append((task, c))
        return tasks

    def _answer(self, annotator, order, rng=None):
        assignment = task_assign_next(annotator=annotator, kind="ranking", rng=rng)
        candidates = [link.candidate for link in assignment.task.task_candidates.order_by("candidate_id")]
        return ranking_submit(assignment=assignment, groups=_best_first(candidates, order))

    def test_held_after_the_minimum_then_gold_only_until_cleared(
        self, make_ranking_task, annotators, make_user, settings
    ):
        settings.LABELING_GOLD_RATE = 1.0
        settings.LABELING_GOLD_MIN_ANSWERS = 3
        settings.LABELING_GOLD_HOLD_BELOW = 0.6
        self._gold_tasks(make_ranking_task, 5)
        real_task, _ = make_ranking_task(3)
        (annotator,) = annotators(1)
        self._answer(annotator, [2, 1, 0])
        self._answer(annotator, [2, 1, 0])
        assert not is_held(annotator), "not before the minimum number of gold answers"
        self._answer(annotator, [2, 1, 0])
        assert is_held(annotator)
        hold = GoldHold.objects.get(annotator=annotator)
        assert (hold.num_answers, hold.accuracy) == (3, 0.0)

        settings.LABELING_GOLD_RATE = 0.0
        for _ in range(2):
            assignment = task_assign_next(annotator=annotator, kind="ranking")
            assert assignment.task.gold, "held: gold items only, whatever the rate"
            self._answer(annotator, [0, 1, 2])
        assert task_assign_next(annotator=annotator, kind="ranking") is None, "no real task while held"

        admin = make_user(role="admin")
        gold_hold_clear(annotator_id=annotator.pk, cleared_by=admin)
        hold.refresh_from_db()
        assert hold.cleared_by == admin and hold.cleared_at is not None
        assert not is_held(annotator)
        assert task_assign_next(annotator=annotator, kind="ranking").task_id == real_task.pk

    def test_cleared_starts_afresh(self, make_ranking_task, annotators, settings):
        settings.LABELING_GOLD_RATE = 1.0
        settings.LABELING_GOLD_MIN_ANSWERS = 2
        self._gold_tasks(make_ranking_task, 4)
        (annotator,) = annotators(1)
        self._answer(annotator, [2, 1, 0])
        self._answer(annotator, [2, 1, 0])
        gold_hold_clear(annotator_id=annotator.pk, cleared_by=None)
        self._answer(annotator, [2, 1, 0])
        assert not is_held(annotator), "one answer since the clear is under the minimum"
        self._answer(annotator, [2, 1, 0])
        assert is_held(annotator)

    def test_accurate_annotator_is_not_held(self, make_ranking_task, annotators, settings):
        settings.LABELING_GOLD_RATE = 1.0
        settings.LABELING_GOLD_MIN_ANSWERS = 2
        self._gold_tasks(make_ranking_task, 3)
        (annotator,) = annotators(1)
        for _ in range(3):
            self._answer(annotator, [0, 1, 2])
        assert not is_held(annotator)

    def test_clearing_nobody_held(self, annotators):
        (annotator,) = annotators(1)
        with pytest.raises(UserError, match="not held"):
            gold_hold_clear(annotator_id=annotator.pk, cleared_by=None)
