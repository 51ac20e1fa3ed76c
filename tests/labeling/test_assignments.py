from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import UserError
from labeling.assignments import (
    assignment_skip,
    candidate_add,
    demonstration_submit,
    ranking_submit,
    task_assign_next,
    task_create_demonstration,
    task_create_ranking,
)
from labeling.models import Assignment, Candidate, Demonstration, Prompt, Ranking, Task

pytestmark = pytest.mark.django_db


def _expire(assignment: Assignment) -> None:
    Assignment.objects.filter(pk=assignment.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))


class TestTasks:
    def test_candidates_are_deduplicated_per_prompt(self, make_prompt):
        prompt, other = make_prompt(), make_prompt()
        first = candidate_add(prompt=prompt, text="Paris.", origin=Candidate.Origin.MODEL)
        assert candidate_add(prompt=prompt, text="  paris. ", origin=Candidate.Origin.IMPORTED) == first
        assert candidate_add(prompt=other, text="Paris.", origin=Candidate.Origin.MODEL) != first

    def test_a_ranking_task_shows_its_candidates_in_shuffled_positions(self, make_ranking_task):
        task, candidates = make_ranking_task(k=9)
        positions = list(task.task_candidates.values_list("position", "candidate_id"))
        assert [p for p, _ in positions] == list(range(9))
        assert {c for _, c in positions} == {c.pk for c in candidates}
        assert task.required_annotations == 3

    def test_k_must_be_between_two_and_nine(self, make_ranking_task, make_prompt):
        prompt = make_prompt()
        candidates = [candidate_add(prompt=prompt, text=str(i), origin="model") for i in range(10)]
        for bad in (candidates[:1], candidates, [candidates[0], candidates[0]]):
            with pytest.raises(UserError):
                task_create_ranking(prompt=prompt, candidates=bad)
        other = candidate_add(prompt=make_prompt(), text="elsewhere", origin="model")
        with pytest.raises(UserError):
            task_create_ranking(prompt=prompt, candidates=[candidates[0], other])


class TestAssignment:
    def test_each_item_goes_to_n_different_annotators(self, annotators, make_ranking_task):
        task, _ = make_ranking_task(required=2)
        first, second, third = annotators(3)
        a = task_assign_next(annotator=first)
        b = task_assign_next(annotator=second)
        assert a.task == b.task == task and a.annotator != b.annotator
        assert task_assign_next(annotator=third) is None

    def test_never_to_the_prompts_author(self, annotators, make_prompt, make_ranking_task):
        author, other = annotators(2)
        task, _ = make_ranking_task(prompt=make_prompt(author=author, source=Prompt.Source.ANNOTATOR))
        assert task_assign_next(annotator=author) is None
        assert task_assign_next(annotator=other).task == task

    def test_never_to_the_author_of_a_candidate(self, annotators, make_prompt):
        writer, other = annotators(2)
        prompt = make_prompt()
        demo_task = task_create_demonstration(prompt=prompt, required_annotations=1)
        demonstration_submit(assignment=task_assign_next(annotator=writer), content="My answer.")
        model = candidate_add(prompt=prompt, text="Model answer.", origin=Candidate.Origin.MODEL)
        ranking = task_create_ranking(prompt=prompt, candidates=[model, Candidate.objects.get(text="My answer.")])
        assert demo_task.assignments.get().state == Assignment.State.SUBMITTED
        assert task_assign_next(annotator=writer) is None
        assert task_assign_next(annotator=other).task == ranking

    def test_never_twice_to_the_same_person(self, annotators, make_ranking_task):
        (annotator,) = annotators(1)
        task, candidates = make_ranking_task(required=3)
        assignment = task_assign_next(annotator=annotator)
        ranking_submit(assignment=assignment, groups=[[c.pk] for c in candidates])
        assert task_assign_next(annotator=annotator) is None
        skipped_task, _ = make_ranking_task(required=3)
        assignment_skip(assignment=task_assign_next(annotator=annotator), reason="Needs a lawyer")
        assert task_assign_next(annotator=annotator) is None
        # A second task on a prompt they already worked on is not offered either.
        make_ranking_task(prompt=skipped_task.prompt)
        assert task_assign_next(annotator=annotator) is None

    def test_a_live_lease_is_returned_again(self, annotators, make_ranking_task):
        (annotator,) = annotators(1)
        make_ranking_task()
        make_ranking_task()
        first = task_assign_next(annotator=annotator)
        assert task_assign_next(annotator=annotator) == first
        assert first.lease_expires_at - first.leased_at == pytest.approx(
            timedelta(minutes=30), abs=timedelta(seconds=5)
        )

    def test_the_kind_of_task_can_be_chosen(self, annotators, make_ranking_task, make_prompt):
        (annotator,) = annotators(1)
        ranking, _ = make_ranking_task()
        writing = task_create_demonstration(prompt=make_prompt())
        assert task_assign_next(annotator=annotator, kind=Task.Kind.DEMONSTRATION).task == writing
        assert task_assign_next(annotator=annotator, kind=Task.Kind.RANKING).task == ranking

    def test_an_expired_lease_returns_the_task_to_the_pool(self, annotators, make_ranking_task):
        task, candidates = make_ranking_task(required=1)
        slow, quick = annotators(2)
        abandoned = task_assign_next(annotator=slow)
        assert task_assign_next(annotator=quick) is None
        _expire(abandoned)
        taken = task_assign_next(annotator=quick)
        assert taken.task == task
        abandoned.refresh_from_db()
        assert abandoned.state == Assignment.State.EXPIRED
        with pytest.raises(UserError, match="someone else"):
            ranking_submit(assignment=abandoned, groups=[[c.pk] for c in candidates])

    def test_late_work_is_kept_while_nobody_took_the_place(self, annotators, make_ranking_task):
        task, candidates = make_ranking_task(required=1)
        slow, other = annotators(2)
        assignment = task_assign_next(annotator=slow)
        _expire(assignment)
        task_assign_next(annotator=slow)  # expires the lease; nothing else is open to them
        ranking_submit(assignment=assignment, groups=[[c.pk] for c in candidates])
        assert Assignment.objects.get(pk=assignment.pk).state == Assignment.State.SUBMITTED
        assert task_assign_next(annotator=other) is None

    def test_skip_frees_the_place_and_keeps_the_reason(self, annotators, make_ranking_task):
        task, _ = make_ranking_task(required=1)
        skipper, other = annotators(2)
        assignment = task_assign_next(annotator=skipper)
        with pytest.raises(UserError):
            assignment_skip(assignment=assignment, reason="  ")
        assignment_skip(assignment=assignment, reason="Needs medical knowledge")
        assignment.refresh_from_db()
        assert (assignment.state, assignment.skip_reason) == (Assignment.State.SKIPPED, "Needs medical knowledge")
        assert task_assign_next(annotator=other).task == task
        with pytest.raises(UserError, match="already skipped"):
            assignment_skip(assignment=assignment, reason="again")

    def test_tasks_closest_to_done_go_first(self, annotators, make_ranking_task):
        older, _ = make_ranking_task(required=2)
        newer, _ = make_ranking_task(required=2)
        first, second = annotators(2)
        Assignment.objects.create(task=newer, annotator=first, lease_expires_at=timezone.now() + timedelta(hours=1))
        assert task_assign_next(annotator=second).task == newer


class TestSubmit:
    def test_a_ranking_with_ties_flags_and_a_better_answer(self, annotators, make_ranking_task):
        (annotator,) = annotators(1)
        task, (a, b, c) = make_ranking_task()
        assignment = task_assign_next(annotator=annotator)
        ranking = ranking_submit(
            assignment=assignment,
            groups=[[b.pk, a.pk], [c.pk]],
            flags={c.pk: ["harmful", "spam"], str(a.pk): []},
            better_answer="A much better\x00 answer.",
        )
        assert ranking.groups == [sorted([a.pk, b.pk]), [c.pk]]
        assert ranking.flags == {str(c.pk): ["harmful", "spam"]}
        demonstration = Demonstration.objects.get()
        assert demonstration.content == "A much better answer."  # PostgreSQL refuses NUL in text
        assert (demonstration.author, demonstration.prompt, demonstration.assignment) == (
            annotator,
            task.prompt,
            assignment,
        )
        assert Candidate.objects.get(demonstration=demonstration).origin == Candidate.Origin.DEMONSTRATION
        consensus = task.consensus
        assert consensus.groups == ranking.groups and consensus.num_rankings == 1
        assert consensus.flags == {str(c.pk): ["harmful", "spam"]}

    @pytest.mark.parametrize(
        "shape",
        ["missing", "repeated", "foreign", "empty_group", "bad_flag", "flag_elsewhere", "not_ids"],
    )
    def test_an_invalid_ranking_is_refused_and_nothing_is_stored(self, annotators, make_ranking_task, shape):
        (annotator,) = annotators(1)
        _, (a, b, c) = make_ranking_task()
        groups, flags = {
            "missing": ([[a.pk], [b.pk]], {}),
            "repeated": ([[a.pk], [b.pk], [c.pk, a.pk]], {}),
            "foreign": ([[a.pk], [b.pk], [c.pk], [999999]], {}),
            "empty_group": ([[a.pk], [], [b.pk, c.pk]], {}),
            "bad_flag": ([[a.pk], [b.pk], [c.pk]], {a.pk: ["rude"]}),
            "flag_elsewhere": ([[a.pk], [b.pk], [c.pk]], {999999: ["spam"]}),
            "not_ids": ([["a"], [b.pk], [c.pk]], {}),
        }[shape]
        assignment = task_assign_next(annotator=annotator)
        with pytest.raises(UserError) as raised:
            ranking_submit(assignment=assignment, groups=groups, flags=flags)
        assert raised.value.code == "invalid_ranking"
        assert not Ranking.objects.exists()
        assert Assignment.objects.get(pk=assignment.pk).state == Assignment.State.LEASED

    def test_work_of_the_wrong_kind_is_refused(self, annotators, make_prompt):
        (annotator,) = annotators(1)
        task_create_demonstration(prompt=make_prompt())
        assignment = task_assign_next(annotator=annotator)
        with pytest.raises(UserError, match="asks for an answer"):
            ranking_submit(assignment=assignment, groups=[])
        with pytest.raises(UserError, match="empty"):
            demonstration_submit(assignment=assignment, content=" ")
        demonstration = demonstration_submit(assignment=assignment, content="The answer.")
        assert demonstration.author == annotator
        with pytest.raises(UserError, match="already submitted"):
            demonstration_submit(assignment=assignment, content="Again.")
