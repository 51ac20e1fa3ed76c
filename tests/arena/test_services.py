"""Arena rounds through the services: what a start stores and enqueues, the
vote and the preference pair it becomes, trials, the leaderboard."""

import io
import json

import pytest
from django.http import Http404

from arena import selectors, services
from arena.errors import ArenaError
from arena.models import ArenaMatch
from chat.access import access_conversation_by_id, access_message_by_id
from chat.models import Conversation, Message, MessageStatus
from chat.selectors import conversation_list
from core.errors import UserError
from labeling.datasets import snapshot_create, snapshot_export
from labeling.models import Prompt, Task
from registry.models import ModelVersion

from .helpers import played_match

pytestmark = pytest.mark.django_db


def preference_lines(name="arena-prefs", filters=None) -> list[dict]:
    filters = {"sources": ["arena"], "arena_votes": True} if filters is None else filters
    snapshot = snapshot_create(name=name, kind="preference", filters=filters)
    out = io.StringIO()
    snapshot_export(snapshot=snapshot, fmt="preference", output=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


class TestMatchStart:
    def test_two_queued_answers_from_two_versions_moderated_once(
        self, arena_user, versions, captured_tasks, django_capture_on_commit_callbacks
    ):
        conversation = Conversation.objects.create(owner=arena_user)
        with django_capture_on_commit_callbacks(execute=True):
            match = services.match_start(user=arena_user, conversation=conversation, content="Name a colour")
        a, b = match.answer_a, match.answer_b
        assert a.parent_id == b.parent_id == match.question_id
        assert a.status == b.status == MessageStatus.QUEUED
        assert {a.model_version, b.model_version} == set(versions)
        assert (match.version_a, match.version_b) == (a.model_version, b.model_version)
        assert match.kind == ArenaMatch.Kind.ARENA and not match.is_decided
        # Input moderation runs once and then starts every queued answer.
        assert captured_tasks == [("moderate", match.question_id)]

    def test_sides_are_drawn_in_random_order(self, arena_user, versions, captured_tasks, settings):
        settings.CHAT_MAX_CONCURRENT_GENERATIONS = 1000
        settings.CHAT_RATE_LIMIT_PER_MINUTE = 1000
        lefts = set()
        for i in range(24):
            conversation = Conversation.objects.create(owner=arena_user)
            lefts.add(services.match_start(user=arena_user, conversation=conversation, content=f"q{i}").version_a_id)
        assert lefts == {v.pk for v in versions}

    def test_one_version_is_not_enough_and_nothing_is_stored(self, arena_user, versions, captured_tasks):
        versions[1].delete()
        conversation = Conversation.objects.create(owner=arena_user)
        with pytest.raises(ArenaError) as error:
            services.match_start(user=arena_user, conversation=conversation, content="hi")
        assert error.value.code == "not_enough_versions" and "at least two" in error.value.message
        assert not Message.objects.exists() and not ArenaMatch.objects.exists()

    def test_a_round_needs_room_for_two_answers(self, arena_user, versions, captured_tasks, settings):
        settings.CHAT_MAX_CONCURRENT_GENERATIONS = 2
        services.match_start(user=arena_user, conversation=Conversation.objects.create(owner=arena_user), content="one")
        with pytest.raises(ArenaError) as error:
            services.match_start(
                user=arena_user, conversation=Conversation.objects.create(owner=arena_user), content="two"
            )
        assert error.value.code == "too_many_generations"
        assert ArenaMatch.objects.count() == 1

    def test_arena_conversations_stay_out_of_the_chat_pages(self, arena_user, versions, captured_tasks):
        Conversation.objects.create(owner=arena_user, title="a normal chat")
        match = played_match(arena_user)
        assert [c["title"] for c in conversation_list(user=arena_user)] == ["a normal chat"]
        with pytest.raises(Http404):
            access_conversation_by_id(arena_user, match.conversation_id)
        with pytest.raises(Http404):
            access_message_by_id(arena_user, match.answer_a_id)

    def test_versions_stay_hidden_until_the_vote(self, arena_user, versions, captured_tasks):
        match = played_match(arena_user)
        before = selectors.match_to_dict(match)
        assert before["versions"] is None
        assert "model" not in before["answers"]["a"] and "model" not in before["answers"]["b"]
        after = selectors.match_to_dict(services.match_vote(match=match, outcome="tie"))
        assert after["versions"] == {"a": match.version_a.name, "b": match.version_b.name}


class TestMatchVote:
    @pytest.mark.parametrize(
        "outcome,chosen,rejected", [("a", "Nine.", "Seven is larger."), ("b", "Seven is larger.", "Nine.")]
    )
    def test_decisive_vote_exports_as_a_preference_pair(
        self, arena_user, versions, captured_tasks, outcome, chosen, rejected
    ):
        match = services.match_vote(match=played_match(arena_user), outcome=outcome)
        assert match.outcome == outcome and match.decided_at is not None
        task = match.preference_task
        assert task.prompt.source == Prompt.Source.ARENA and task.required_annotations == 0
        [line] = preference_lines()
        assert line == {
            "prompt": [{"role": "user", "content": "Which is larger, 7 or 9?"}],
            "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}],
            "margin": 1.0,
            "group_id": f"task-{task.pk}",
        }

    def test_a_single_vote_is_no_finished_ranking_in_a_default_snapshot(self, arena_user, versions, captured_tasks):
        """Issue 15, item 9: one user's vote became a finished ranking that
        every default preference snapshot took, so adversarial votes fed
        the reward model directly. Its consensus says it is one vote, and
        only a snapshot that asks for arena votes takes it."""
        task = services.match_vote(match=played_match(arena_user), outcome="a").preference_task
        assert task.consensus.method == "arena"
        for filters in ({}, {"sources": ["arena"]}):
            with pytest.raises(UserError):
                preference_lines(name="default", filters=filters)
        assert len(preference_lines(name="opted-in", filters={"arena_votes": True})) == 1

    @pytest.mark.parametrize("outcome", ["tie", "both_bad"])
    def test_tie_and_both_bad_are_stored_without_a_pair(self, arena_user, versions, captured_tasks, outcome):
        match = services.match_vote(match=played_match(arena_user), outcome=outcome)
        match.refresh_from_db()
        assert match.outcome == outcome and match.preference_task is None
        assert not Task.objects.exists()
        with pytest.raises(UserError):
            preference_lines()

    def test_a_match_is_voted_once(self, arena_user, versions, captured_tasks):
        match = played_match(arena_user)
        services.match_vote(match=match, outcome="a")
        with pytest.raises(ArenaError) as again:
            services.match_vote(match=match, outcome="b")
        assert again.value.code == "already_decided"
        match.refresh_from_db()
        assert match.outcome == "a" and Task.objects.count() == 1

    def test_no_vote_before_both_answers_are_written(self, arena_user, versions, captured_tasks):
        conversation = Conversation.objects.create(owner=arena_user)
        match = services.match_start(user=arena_user, conversation=conversation, content="hi")
        with pytest.raises(ArenaError) as error:
            services.match_vote(match=match, outcome="a")
        assert error.value.code == "not_ready"

    def test_unknown_outcome_is_refused(self, arena_user, versions, captured_tasks):
        with pytest.raises(ArenaError) as error:
            services.match_vote(match=played_match(arena_user), outcome="left")
        assert error.value.code == "invalid_outcome"

    def test_identical_answers_make_no_pair(self, arena_user, versions, captured_tasks):
        match = services.match_vote(match=played_match(arena_user, texts=("Same.", "Same.")), outcome="a")
        assert match.preference_task is None


class TestTrial:
    def test_trial_sets_serving_left_and_chosen_right_named_from_the_start(self, admin, versions, captured_tasks):
        serving, other = versions
        match = played_match(admin, trial_version=other)
        assert (match.kind, match.version_a, match.version_b) == (ArenaMatch.Kind.TRIAL, serving, other)
        assert selectors.match_to_dict(match)["versions"] == {"a": serving.name, "b": other.name}

    def test_trial_votes_make_no_pair_and_no_leaderboard_row(self, admin, versions, captured_tasks):
        services.match_vote(match=played_match(admin, trial_version=versions[1]), outcome="b")
        assert not Task.objects.exists()
        assert selectors.leaderboard() == []

    def test_serving_version_cannot_be_tried_against_itself(self, admin, versions, captured_tasks):
        conversation = Conversation.objects.create(owner=admin)
        with pytest.raises(ArenaError) as error:
            services.match_start(user=admin, conversation=conversation, content="hi", trial_version=versions[0])
        assert error.value.code == "invalid_version"


def test_leaderboard_ranks_by_bradley_terry_with_counts(arena_user, versions, captured_tasks, settings):
    settings.CHAT_MAX_CONCURRENT_GENERATIONS = 1000
    settings.CHAT_RATE_LIMIT_PER_MINUTE = 1000
    weak, strong = versions
    third = ModelVersion.objects.create(
        name="policy-three", source="imported", path="/nonexistent/three", arena_enabled=True
    )
    # (left, right, outcome): strong > weak > third, one tie.
    plan = [(strong, weak, "a")] * 3 + [(third, weak, "b")] * 3 + [(strong, third, "a")] * 2 + [(weak, strong, "tie")]
    for i, (left, right, outcome) in enumerate(plan):
        match = played_match(arena_user, content=f"question {i}")
        ArenaMatch.objects.filter(pk=match.pk).update(version_a=left, version_b=right)
        match.refresh_from_db()
        services.match_vote(match=match, outcome=outcome)
    rows = selectors.leaderboard()
    assert [row["version"] for row in rows] == [strong.name, weak.name, third.name]
    table = {row["version"]: (row["games"], row["wins"], row["losses"], row["draws"]) for row in rows}
    assert table == {strong.name: (6, 5, 0, 1), weak.name: (7, 3, 3, 1), third.name: (5, 0, 5, 0)}
    assert rows[0]["win_rate"] == pytest.approx(5.5 / 6)
    assert rows[0]["elo"] > rows[1]["elo"] > rows[2]["elo"]
    assert rows[0]["bradley_terry"] > rows[1]["bradley_terry"] > rows[2]["bradley_terry"]
    assert all(0 < row["bradley_terry_ci95"] < 2000 for row in rows)
