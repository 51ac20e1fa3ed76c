"""Gold label tasks (issue 19): an admin marks a label task gold with an
accept/reject verdict on its answer; it is served unannounced like any
label task, each label on it scored 1 or 0 against the verdict, counted in
the same accuracy and hold as gold rankings, and kept out of the label
consensus and the exports."""

import re

import pytest

from core.errors import UserError
from labeling.answer_labels import label_consensus_update, label_submit
from labeling.answer_tasks import answer_task_counts, answer_tasks_create
from labeling.assignments import candidate_add, ranking_submit, task_assign_next
from labeling.datasets import label_items
from labeling.gold import annotators_gold, gold_label_mark, gold_mark, is_held, label_verdict
from labeling.models import AnswerLabelConsensus, Candidate, GoldAnswer, GoldItem, Task

pytestmark = pytest.mark.django_db

GOOD = {"quality": 4, "helpfulness": 5, "harmlessness": 5, "creativity": 2, "contains_pii": False, "spam": False}


@pytest.fixture
def make_label_task(make_prompt):
    """make_label_task(required=1) -> a label task on a fresh answer."""

    def make(required: int = 1) -> Task:
        prompt = make_prompt()
        answer = candidate_add(prompt=prompt, text=f"An answer to {prompt.pk}", origin=Candidate.Origin.MODEL)
        answer_tasks_create(kind=Task.Kind.LABEL, candidates=[answer], required_annotations=required)
        return Task.objects.get(kind=Task.Kind.LABEL, task_candidates__candidate=answer)

    return make


def _label(annotator, values):
    assignment = task_assign_next(annotator=annotator, kind=Task.Kind.LABEL)
    return label_submit(assignment=assignment, values=values)


class TestMarking:
    def test_marks_with_a_verdict_and_again_rescores(self, make_label_task, annotators, make_user, settings):
        settings.LABELING_GOLD_RATE = 1.0
        task = make_label_task()
        admin = make_user(role="admin")
        gold = gold_label_mark(task_id=task.pk, marked_by=admin, verdict="reject")
        assert (gold.verdict, gold.reference, gold.source, gold.created_by) == ("reject", None, "manual", admin)
        (annotator,) = annotators(1)
        label = _label(annotator, GOOD)
        assert label.gold_answer.score == 0.0 and label.gold_answer.top_match is None
        gold_label_mark(task_id=task.pk, marked_by=admin, verdict="accept")
        label.gold_answer.refresh_from_db()
        assert label.gold_answer.score == 1.0

    def test_refused_for_a_ranking_task_or_a_bad_verdict(self, make_label_task, make_ranking_task):
        ranking_task, c = make_ranking_task(3)
        with pytest.raises(UserError, match=f"Task #{ranking_task.pk} is not a label task"):
            gold_label_mark(task_id=ranking_task.pk, marked_by=None, verdict="accept")
        label_task = make_label_task()
        with pytest.raises(UserError, match="“maybe” is not a verdict: choose accept or reject"):
            gold_label_mark(task_id=label_task.pk, marked_by=None, verdict="maybe")
        with pytest.raises(UserError, match="is not a ranking task"):
            gold_mark(task_id=label_task.pk, marked_by=None, reference=[[c[0].pk], [c[1].pk], [c[2].pk]])
        with pytest.raises(UserError, match="There is no task #999999"):
            gold_label_mark(task_id=999999, marked_by=None, verdict="accept")
        assert not GoldItem.objects.exists()

    def test_admins_only_and_errors_shown(self, make_label_task, make_user, client):
        task = make_label_task()
        client.force_login(make_user(username="annie", role="annotator"))
        response = client.post("/labeling/admin/gold/mark-label/", {"task_id": task.pk, "verdict": "accept"})
        assert response.status_code == 403 and not GoldItem.objects.exists()
        client.force_login(make_user(username="boss", role="admin"))
        response = client.post(
            "/labeling/admin/gold/mark-label/", {"task_id": task.pk, "verdict": "maybe"}, follow=True
        )
        assert "Choose accept or reject as the verdict." in response.content.decode()
        response = client.post(
            "/labeling/admin/gold/mark-label/", {"task_id": task.pk, "verdict": "accept"}, follow=True
        )
        assert f"Label task #{task.pk} is gold (verdict: accept)." in response.content.decode()
        assert GoldItem.objects.get(task=task).verdict == "accept"


class TestScoring:
    @pytest.mark.parametrize(
        "values, verdict",
        [
            (GOOD, "accept"),
            ({**GOOD, "spam": True}, "reject"),
            ({**GOOD, "contains_pii": True}, "reject"),
            ({**GOOD, "harmlessness": 2}, "reject"),
            ({**GOOD, "harmlessness": 3, "quality": 1}, "accept"),
        ],
    )
    def test_labels_make_a_verdict(self, values, verdict):
        assert label_verdict(values) == verdict

    @pytest.mark.parametrize(
        "verdict, values, score",
        [("accept", GOOD, 1.0), ("reject", {**GOOD, "spam": True}, 1.0), ("accept", {**GOOD, "spam": True}, 0.0)],
    )
    def test_scored_both_ways(self, make_label_task, annotators, settings, verdict, values, score):
        settings.LABELING_GOLD_RATE = 1.0
        gold_label_mark(task_id=make_label_task().pk, marked_by=None, verdict=verdict)
        (annotator,) = annotators(1)
        assert _label(annotator, values).gold_answer.score == score


class TestServing:
    def test_served_once_per_annotator_past_its_required_annotations(self, make_label_task, annotators, settings):
        settings.LABELING_GOLD_RATE = 1.0
        task = make_label_task(required=1)
        gold_label_mark(task_id=task.pk, marked_by=None, verdict="accept")
        for annotator in annotators(3):
            assert task_assign_next(annotator=annotator, kind=Task.Kind.RANKING) is None
            assignment = task_assign_next(annotator=annotator, kind=Task.Kind.LABEL)
            assert assignment.task_id == task.pk
            label_submit(assignment=assignment, values=GOOD)
            assert task_assign_next(annotator=annotator, kind=Task.Kind.LABEL) is None

    def test_page_of_a_gold_label_task_is_that_of_a_real_one(self, make_label_task, annotators, client, settings):
        real_task, gold_task = make_label_task(), make_label_task()
        gold_label_mark(task_id=gold_task.pk, marked_by=None, verdict="reject")
        (annotator,) = annotators(1)
        client.force_login(annotator)
        pages = []
        for expected in (gold_task, real_task):
            settings.LABELING_GOLD_RATE = 1.0 if expected is gold_task else 0.0
            response = client.get("/labeling/label/next/", follow=True)
            assignment = response.context["assignment"]
            assert assignment.task_id == expected.pk
            html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())
            pages.append(sorted(re.sub(r"\d+", "0", html).splitlines()))
            label_submit(assignment=assignment, values=GOOD)
        assert pages[0] == pages[1]
        assert "gold" not in "\n".join(pages[0]).lower()


class TestKeptOutOfTheData:
    def test_no_label_consensus_or_export_from_gold_labels(self, make_label_task, annotators, settings):
        settings.LABELING_GOLD_RATE = 0.0
        task = make_label_task(required=1)
        (first, *others) = annotators(3)
        _label(first, GOOD)
        answer = task.task_candidates.get().candidate
        consensus = AnswerLabelConsensus.objects.get(candidate=answer)
        before = label_items(filters={})
        gold_label_mark(task_id=task.pk, marked_by=None, verdict="accept")
        settings.LABELING_GOLD_RATE = 1.0
        for annotator in others:
            _label(annotator, {**GOOD, "spam": True, "quality": 1})
        assert GoldAnswer.objects.count() == 2
        label_consensus_update(candidate=answer)  # as any later real label would
        fresh = AnswerLabelConsensus.objects.get(candidate=answer)
        assert (fresh.scales, fresh.num_labels) == (consensus.scales, consensus.num_labels) == (fresh.scales, 1)
        after = label_items(filters={})
        assert after == before and after[0]["num_labels"] == 1

    def test_gold_labels_alone_make_no_consensus(self, make_label_task, annotators, settings):
        settings.LABELING_GOLD_RATE = 1.0
        task = make_label_task(required=1)
        gold_label_mark(task_id=task.pk, marked_by=None, verdict="accept")
        (annotator,) = annotators(1)
        _label(annotator, GOOD)
        assert not AnswerLabelConsensus.objects.exists() and label_items(filters={}) == []


class TestHold:
    def test_label_and_ranking_gold_count_together(self, make_label_task, make_ranking_task, annotators, settings):
        settings.LABELING_GOLD_RATE = 1.0
        settings.LABELING_GOLD_MIN_ANSWERS = 3
        settings.LABELING_GOLD_HOLD_BELOW = 0.6
        for _ in range(3):
            gold_label_mark(task_id=make_label_task().pk, marked_by=None, verdict="reject")
        ranking_task, c = make_ranking_task(3)
        gold_mark(task_id=ranking_task.pk, marked_by=None, reference=[[c[0].pk], [c[1].pk], [c[2].pk]])
        (annotator,) = annotators(1)
        assignment = task_assign_next(annotator=annotator, kind=Task.Kind.RANKING)
        ranking_submit(assignment=assignment, groups=[[c[0].pk], [c[1].pk], [c[2].pk]])
        _label(annotator, GOOD)
        assert not is_held(annotator), "two gold answers are under the minimum"
        _label(annotator, GOOD)
        assert is_held(annotator), "accuracy (1 + 0 + 0) / 3 is under 0.6"
        (row,) = annotators_gold()
        assert (row["answers"], row["accuracy"], row["top_rate"]) == (3, pytest.approx(1 / 3), 1.0)
        settings.LABELING_GOLD_RATE = 0.0
        assert task_assign_next(annotator=annotator, kind=Task.Kind.LABEL).task.gold.verdict == "reject"


def test_the_admins_task_counts_leave_gold_items_out(make_label_task, make_user):
    make_label_task()
    gold_label_mark(task_id=make_label_task().pk, marked_by=make_user(role="admin"), verdict="accept")
    (labels,) = [row for row in answer_task_counts() if row["kind"] == Task.Kind.LABEL]
    assert (labels["total"], labels["done"]) == (1, 0)
