"""Thumbs up and down counted per model version, on the feedback
leaderboard beside the arena's (arena.feedback_leaderboard)."""

import pytest

from arena.feedback_leaderboard import feedback_leaderboard, wilson_interval
from chat.models import Conversation, Feedback, Message, MessageStatus
from registry.models import ModelVersion

pytestmark = pytest.mark.django_db


def test_the_wilson_interval_matches_published_values_and_stays_inside_0_and_1():
    # Wilson (1927) for 81 of 263: 0.2553 to 0.3662 (as R's prop.test without continuity correction).
    low, high = wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    assert wilson_interval(0, 10)[0] == 0.0 and 0 < wilson_interval(0, 10)[1] < 0.31
    assert wilson_interval(10, 10)[1] == 1.0 and 0.69 < wilson_interval(10, 10)[0] < 1
    assert wilson_interval(0, 0) == (0.0, 1.0)


def _rate(users, version, ups: int, downs: int):
    conversation = Conversation.objects.create(owner=users[0])
    question = Message.objects.create(conversation=conversation, role="user", content="Hi", status="accepted")
    for index in range(ups + downs):
        answer = Message.objects.create(
            conversation=conversation,
            parent=question,
            role="assistant",
            content=f"Answer {index}",
            status=MessageStatus.COMPLETE,
            model_version=version,
        )
        Feedback.objects.create(message=answer, user=users[index % len(users)], rating=1 if index < ups else -1)


@pytest.fixture
def users(make_user):
    return [make_user(username=f"rater{index}") for index in range(2)]


def test_counts_per_version_ordered_by_the_low_end_of_the_interval(users):
    sure = ModelVersion.objects.create(name="sure", kind="policy", source="trained", path="/m/a")
    lucky = ModelVersion.objects.create(name="lucky", kind="policy", source="trained", path="/m/b")
    poor = ModelVersion.objects.create(name="poor", kind="policy", source="trained", path="/m/c")
    _rate(users, sure, 45, 5)
    _rate(users, lucky, 3, 0)
    _rate(users, poor, 2, 8)
    _rate(users, None, 5, 0)  # no version recorded: not on the board
    rows = feedback_leaderboard()
    assert [(r["version"], r["up"], r["down"], r["votes"]) for r in rows] == [
        ("sure", 45, 5, 50),
        ("lucky", 3, 0, 3),
        ("poor", 2, 8, 10),
    ], "three out of three is not yet better than 45 of 50"
    assert rows[0]["up_share"] == 0.9 and rows[1]["up_share"] == 1.0
    assert rows[0]["low"] == pytest.approx(wilson_interval(45, 50)[0])
    assert rows[1]["high"] == 1.0 and rows[1]["low"] < rows[0]["low"]
    assert [r["version"] for r in feedback_leaderboard(version=poor)] == ["poor"]


def test_the_leaderboard_page_shows_the_feedback_table_beside_the_arenas(client, make_user, users):
    version = ModelVersion.objects.create(name="sft-9", kind="policy", source="trained", path="/m/s")
    _rate(users, version, 8, 2)
    client.force_login(make_user(username="boss", role="admin"))
    page = client.get("/arena/leaderboard/").content.decode()
    assert 'data-testid="leaderboard-empty"' in page, "no arena votes"
    assert 'data-testid="feedback-leaderboard-row" data-version="sft-9"' in page
    assert "80%" in page and "49–94%" in page
    lineage = client.get(f"/models/{version.pk}/lineage/").content.decode()
    assert 'data-testid="version-chat-feedback"' in lineage and "8 up, 2 down" in lineage
