"""An arena round in a real browser against the live stack: Daphne, Redis
and a Celery worker process answering with two tiny models."""

import re

import pytest
from playwright.sync_api import expect

from arena.models import ArenaMatch
from engine.tiny import build_tiny_chat_model
from labeling.models import Prompt
from registry.models import ModelVersion

from .conftest import log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.integration]

PASSWORD = "a-Strong-pass-123"


def words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z]{4,}", text))


@pytest.fixture(scope="session")
def second_model_dir(tmp_path_factory):
    return build_tiny_chat_model(tmp_path_factory.mktemp("tiny-chat-model-b"), never_ends=True, seed=1)


def test_arena_round_streams_two_answers_hides_versions_until_the_vote(
    page, make_user, tiny_model_dir, second_model_dir
):
    ModelVersion.objects.create(name="tiny-a", source="imported", path=str(tiny_model_dir), is_serving=True)
    ModelVersion.objects.create(name="tiny-b", source="imported", path=str(second_model_dir), arena_enabled=True)
    make_user(username="player", password=PASSWORD, arena_enabled=True)
    log_in(page, "player", PASSWORD)

    page.get_by_test_id("nav-arena").click()
    page.get_by_test_id("arena-prompt").fill("Tell me about the sea")
    page.get_by_test_id("arena-prompt").press("Enter")
    expect(page.get_by_test_id("arena-question")).to_have_text("Tell me about the sea")
    for side in "ab":
        expect(page.get_by_test_id(f"arena-answer-{side}")).to_have_attribute("data-status", "complete", timeout=60_000)
        expect(page.get_by_test_id(f"arena-answer-{side}").locator("[data-role=content]")).not_to_have_text("")
        expect(page.get_by_test_id(f"arena-version-{side}")).to_be_hidden()

    match = ArenaMatch.objects.select_related("answer_a", "answer_b", "version_a", "version_b").get()
    for side, answer in (("a", match.answer_a), ("b", match.answer_b)):
        # The final text shows as rendered Markdown (a random model writes
        # byte salad, which Markdown reshapes), so compare its words.
        shown = words(page.get_by_test_id(f"arena-answer-{side}").locator("[data-role=content]").inner_text())
        assert shown and len(shown & words(answer.content)) >= 0.8 * len(shown)

    page.get_by_test_id("vote-a").click()
    expect(page.get_by_test_id("arena-result")).to_contain_text(
        f"A was {match.version_a.name}, B was {match.version_b.name}"
    )
    expect(page.get_by_test_id("arena-version-a")).to_have_text(match.version_a.name)
    expect(page.get_by_test_id("arena-version-b")).to_have_text(match.version_b.name)
    expect(page.get_by_test_id("vote-b")).to_be_disabled()
    match.refresh_from_db()
    assert match.outcome == "a" and match.preference_task.prompt.source == Prompt.Source.ARENA

    page.get_by_test_id("arena-new").click()
    expect(page.get_by_test_id("arena-prompt")).to_be_enabled()
    expect(page.get_by_test_id("arena-question")).to_be_hidden()
    assert page.errors == []


def test_arena_is_closed_to_users_not_enabled(page, make_user):
    make_user(username="plain", password=PASSWORD)
    log_in(page, "plain", PASSWORD)
    expect(page.get_by_test_id("nav-arena")).to_have_count(0)
    response = page.goto("/arena/")
    assert response.status == 403


def test_admin_trial_names_both_versions_and_stays_off_the_leaderboard(
    page, make_user, tiny_model_dir, second_model_dir
):
    serving = ModelVersion.objects.create(name="tiny-a", source="imported", path=str(tiny_model_dir), is_serving=True)
    candidate = ModelVersion.objects.create(name="tiny-b", source="imported", path=str(second_model_dir))
    make_user(username="boss", password=PASSWORD, role="admin")
    log_in(page, "boss", PASSWORD)

    page.goto("/arena/trial/")
    page.get_by_test_id("trial-version").select_option(str(candidate.pk))
    page.get_by_role("button", name="Choose").click()
    page.get_by_test_id("arena-prompt").fill("Hello there")
    page.get_by_test_id("arena-send").click()
    expect(page.get_by_test_id("arena-version-a")).to_have_text(serving.name)
    expect(page.get_by_test_id("arena-version-b")).to_have_text(candidate.name)
    for side in "ab":
        expect(page.get_by_test_id(f"arena-answer-{side}")).to_have_attribute("data-status", "complete", timeout=60_000)
    page.get_by_test_id("vote-b").click()
    expect(page.get_by_test_id("arena-result")).to_contain_text(f"B was {candidate.name}")
    match = ArenaMatch.objects.get()
    assert (match.kind, match.outcome, match.preference_task) == (ArenaMatch.Kind.TRIAL, "b", None)

    page.goto("/arena/leaderboard/")
    expect(page.get_by_test_id("leaderboard-empty")).to_be_visible()
    assert page.errors == []
