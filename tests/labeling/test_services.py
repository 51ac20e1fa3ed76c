import random
from datetime import timedelta

import pytest
from django.utils import timezone

from chat.models import Conversation, Message, MessageStatus
from labeling.consensus import PRIOR_WEIGHT, fit, pairwise_agreement
from core.errors import UserError
from labeling.models import AnnotatorStats, Assignment, Candidate, Consensus, Demonstration, Prompt, Ranking, Task
from labeling.selectors import annotator_agreement_history
from labeling.services import (
    assignment_skip,
    candidate_add,
    demonstration_submit,
    prompt_create,
    prompt_create_from_chat,
    quality_refresh,
    ranking_submit,
    task_assign_next,
    task_create_demonstration,
    task_create_ranking,
)

pytestmark = pytest.mark.django_db


def _expire(assignment: Assignment) -> None:
    Assignment.objects.filter(pk=assignment.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))


class TestPrompts:
    def test_an_annotator_writes_a_prompt_once(self, annotators):
        (author,) = annotators(1)
        prompt = prompt_create(author=author, messages=[{"role": "user", "content": "How do tides work?"}])
        assert prompt.source == Prompt.Source.ANNOTATOR and prompt.author == author
        with pytest.raises(UserError, match="already in the pool"):
            prompt_create(author=author, messages=[{"role": "user", "content": "  how do TIDES work? "}])

    @pytest.mark.parametrize(
        "messages, problem",
        [
            ([], "non-empty list"),
            ([{"role": "user", "content": "  "}], "empty text"),
            ([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}], "end with a user turn"),
            ([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}], "should be a assistant turn"),
            ([{"role": "robot", "content": "a"}], "role 'robot'"),
        ],
    )
    def test_a_malformed_prompt_is_refused(self, annotators, messages, problem):
        with pytest.raises(UserError, match=problem):
            prompt_create(author=annotators(1)[0], messages=messages)

    def test_a_chat_message_becomes_a_prompt_with_its_context(self, user):
        conversation = Conversation.objects.create(owner=user, system_prompt="Be brief.")
        first = Message.objects.create(conversation=conversation, role="user", content="Hi", status=MessageStatus.ACCEPTED)
        answer = Message.objects.create(
            conversation=conversation, parent=first, role="assistant", content="Hello!", status=MessageStatus.COMPLETE
        )
        second = Message.objects.create(
            conversation=conversation, parent=answer, role="user", content="Name a prime.", status=MessageStatus.ACCEPTED
        )
        prompt = prompt_create_from_chat(message=second)
        assert prompt.messages == [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "Name a prime."},
        ]
        assert (prompt.source, prompt.author, prompt.chat_message) == (Prompt.Source.CHAT, user, second)
        assert prompt_create_from_chat(message=second) == prompt
        with pytest.raises(UserError):
            prompt_create_from_chat(message=answer)


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
        assert first.lease_expires_at - first.leased_at == pytest.approx(timedelta(minutes=30), abs=timedelta(seconds=5))

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
        assert (demonstration.author, demonstration.prompt, demonstration.assignment) == (annotator, task.prompt, assignment)
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


class TestConsensusAndAgreement:
    def test_each_submission_updates_consensus_and_everyones_agreement(self, annotators, make_ranking_task):
        task, (a, b, c) = make_ranking_task(required=3)
        one, two, odd = annotators(3)
        right, wrong = [[a.pk], [b.pk], [c.pk]], [[c.pk], [b.pk], [a.pk]]
        ranking_submit(assignment=task_assign_next(annotator=one), groups=right)
        assert Ranking.objects.get().agreement is None  # nobody to agree with yet
        ranking_submit(assignment=task_assign_next(annotator=two), groups=right, none_acceptable=True)
        ranking_submit(assignment=task_assign_next(annotator=odd), groups=wrong, flags={a.pk: ["harmful"]})
        consensus = task.consensus
        assert consensus.groups == right and consensus.num_rankings == 3
        assert consensus.agreement == pytest.approx(1 / 3)
        assert consensus.none_acceptable is False and consensus.flags == {}
        agreements = dict(Ranking.objects.values_list("assignment__annotator", "agreement"))
        assert agreements == {one.pk: 1.0, two.pk: 1.0, odd.pk: 0.0}
        stats = {s.annotator_id: s for s in AnnotatorStats.objects.all()}
        assert stats[one.pk].weight > PRIOR_WEIGHT > stats[odd.pk].weight
        assert stats[odd.pk].num_rankings == 1

    def test_refresh_fits_weights_over_all_items(self, annotators, make_ranking_task):
        """Two careful annotators agree on every item, a third reverses
        every one: after a refresh the third barely counts, so on an item
        only they and one careful annotator ranked, the careful one wins."""
        careful, also_careful, contrary = annotators(3)
        for _ in range(4):
            task, candidates = make_ranking_task(required=3)
            order = [[c.pk] for c in candidates]
            for annotator, groups in ((careful, order), (also_careful, order), (contrary, order[::-1])):
                ranking_submit(assignment=task_assign_next(annotator=annotator), groups=groups)
        contested, candidates = make_ranking_task(required=2)
        order = [[c.pk] for c in candidates]
        ranking_submit(assignment=task_assign_next(annotator=careful), groups=order)
        ranking_submit(assignment=task_assign_next(annotator=contrary), groups=order[::-1])
        assert quality_refresh() == 5
        stats = {s.annotator_id: s for s in AnnotatorStats.objects.all()}
        assert stats[careful.pk].agreement > 0.75 and stats[contrary.pk].agreement < 0.3
        contested.consensus.refresh_from_db()
        assert contested.consensus.groups == order

    def test_agreement_history_by_week(self, annotators, make_ranking_task):
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


def test_simulated_annotators_through_the_services(annotators, make_ranking_task):
    """The simulated annotators of bench/labeling.py run through
    assignment, submission and refresh: the stored consensus and agreement
    are the pure fit's, the consensus is closer to the hidden truth than any
    one annotator, and agreement orders the annotators by their noise."""
    from bench.labeling import noisy

    rng = random.Random(2)
    noise = [0.1, 0.15, 0.2, 0.25, 0.3]
    people = annotators(len(noise))
    truth, rankings = {}, {}
    for _ in range(40):
        task, candidates = make_ranking_task(k=4, required=len(noise))
        order = [c.pk for c in rng.sample(candidates, len(candidates))]
        truth[task.pk] = [[pk] for pk in order]
        for person, p in zip(people, noise):
            groups = [[pk] for pk in noisy(order, p, rng)]
            assignment = task_assign_next(annotator=person)
            assert assignment.task == task
            ranking_submit(assignment=assignment, groups=groups)
            rankings.setdefault(task.pk, {})[person.pk] = groups
    quality_refresh()

    fitted = fit(rankings)
    stored = {c.task_id: c.groups for c in Consensus.objects.all()}
    assert stored == {task_id: item.groups for task_id, item in fitted.items.items()}
    stats = {s.annotator_id: s.agreement for s in AnnotatorStats.objects.all()}
    assert stats == pytest.approx({a: agreement for a, (agreement, _, _) in fitted.annotators.items()})

    def accuracy(groups_of) -> float:
        return sum(pairwise_agreement(groups_of(t), truth[t]) for t in truth) / len(truth)

    single = [accuracy(lambda t, a=person.pk: rankings[t][a]) for person in people]
    assert accuracy(stored.get) > max(single)
    agreement = [stats[person.pk] for person in people]
    assert agreement == sorted(agreement, reverse=True)
