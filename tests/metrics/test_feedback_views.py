"""The admins' feedback page (issue 17): every thumbs up and down with its
reasons, counted per model version, filtered by version, rating, reason and
dates. A conversation is linked only where its owner shared it (the
labeling pool holds the answer); otherwise no word of it shows."""

from datetime import UTC, datetime

import pytest
from django.test import Client

from accounts.timezones import TIME_ZONE_COOKIE
from chat import services
from chat.context import system_prompt_fingerprint
from chat.models import Conversation, Feedback, Message, MessageStatus
from labeling.models import Candidate
from metrics.feedback_selectors import feedback_counts_by_version
from registry.models import ModelVersion

pytestmark = pytest.mark.django_db

PAGE = "/feedback/"


def answer(owner, version=None, *, question="How do tides work?", text="The moon pulls the sea.") -> Message:
    """An accepted question of `owner` and `version`'s answer to it."""
    conversation = Conversation.objects.create(owner=owner)
    asked = Message.objects.create(
        conversation=conversation,
        role="user",
        content=question,
        status=MessageStatus.ACCEPTED,
        moderation={"flagged": False, "context": {"system_prompt": system_prompt_fingerprint("")}},
    )
    return Message.objects.create(
        conversation=conversation,
        parent=asked,
        role="assistant",
        content=text,
        status=MessageStatus.COMPLETE,
        model_version=version,
    )


def rate(user, message, rating, reasons=(), comment="") -> Feedback:
    return services.feedback_submit(user=user, message=message, rating=rating, reasons=list(reasons), comment=comment)


@pytest.fixture
def versions():
    return (
        ModelVersion.objects.create(name="base-v1", source="imported", path="/nonexistent/1"),
        ModelVersion.objects.create(name="sft-v2", source="imported", path="/nonexistent/2"),
    )


@pytest.fixture
def admin_client(make_user):
    client = Client()
    client.force_login(make_user(username="root", role="admin"))
    return client


def test_counts_per_version_with_each_reason_and_the_down_rate(make_user, versions, admin_client):
    v1, v2 = versions
    alice, bob = make_user(username="alice"), make_user(username="bob")
    rate(alice, answer(alice, v1), 1, ["Accurate information"])
    rate(bob, answer(bob, v1), -1, ["Too verbose"])
    rate(alice, answer(alice, v2), -1, ["Too verbose", "Not helpful"])
    rate(bob, answer(bob, v2), -1, ["Not helpful"])
    rate(bob, answer(bob, None), 1)

    rows = {row["version"]: row for row in feedback_counts_by_version()}
    assert set(rows) == {"base-v1", "sft-v2", None}
    assert (rows["base-v1"]["up"], rows["base-v1"]["down"], rows["base-v1"]["down_rate"]) == (1, 1, 0.5)
    assert (rows["sft-v2"]["up"], rows["sft-v2"]["down"], rows["sft-v2"]["down_rate"]) == (0, 2, 1.0)
    # In the menu's order, the reasons nobody ticked left out.
    assert rows["sft-v2"]["down_reasons"] == [("Too verbose", 1), ("Not helpful", 2)]
    assert rows["base-v1"]["down_reasons"] == [("Too verbose", 1)]
    assert rows["base-v1"]["up_reasons"] == [("Accurate information", 1)]
    assert rows[None]["up_reasons"] == []

    page = admin_client.get(PAGE).content.decode()
    assert 'data-version="sft-v2"' in page and ">100%</td>" in page and ">50%</td>" in page
    assert "Not helpful <b>2</b>" in page
    assert "(not recorded)" in page


def test_a_conversation_is_linked_only_where_its_owner_shared_it(make_user, versions, admin_client):
    private = make_user(username="private")
    sharer = make_user(username="sharer", shares_chat_data=True)
    hidden = answer(private, versions[0], question="PRIVATE-QUESTION-1", text="PRIVATE-ANSWER-1")
    shared = answer(sharer, versions[0], question="Shared question", text="Shared answer")
    rate(private, hidden, -1, ["Not factually correct"], comment="Wrong year")
    rate(sharer, shared, -1, ["Being lazy"])
    pool_prompt = Candidate.objects.get(source_feedback__message=shared).prompt_id

    page = admin_client.get(PAGE).content.decode()
    assert "Not factually correct" in page and "Wrong year" in page
    assert "PRIVATE-QUESTION-1" not in page and "PRIVATE-ANSWER-1" not in page
    assert f'href="/labeling/admin/prompts/{pool_prompt}/"' in page
    assert page.count("Not shared") == 1


def test_filters_by_version_rating_reason_and_the_readers_days(make_user, versions, admin_client):
    v1, v2 = versions
    alice = make_user(username="alice")
    late = rate(alice, answer(alice, v1), -1, ["Too verbose"], comment="late evening in UTC")
    Feedback.objects.filter(pk=late.pk).update(created_at=datetime(2026, 1, 15, 20, 0, tzinfo=UTC))
    early = rate(alice, answer(alice, v2), 1, ["Thorough explanation"], comment="morning")
    Feedback.objects.filter(pk=early.pk).update(created_at=datetime(2026, 1, 15, 8, 0, tzinfo=UTC))

    def listed(**query) -> list[str]:
        page = admin_client.get(PAGE, query)
        assert page.status_code == 200
        return [item.comment for item in page.context["page"].object_list]

    assert listed(version="sft-v2") == ["morning"]
    assert listed(rating="-1") == ["late evening in UTC"]
    assert listed(reason="Thorough explanation") == ["morning"]
    assert listed(reason="Too verbose", rating="1") == []
    assert listed(since="2026-01-15", until="2026-01-15") == ["late evening in UTC", "morning"]
    # In Tokyo the UTC evening is the next morning: the 15th ends before it.
    admin_client.cookies[TIME_ZONE_COOKIE] = "Asia/Tokyo"
    assert listed(until="2026-01-15") == ["morning"]
    assert listed(since="2026-01-16") == ["late evening in UTC"]
    counts = admin_client.get(PAGE, {"version": "base-v1"}).context["counts"]
    assert [row["version"] for row in counts] == ["base-v1"]


@pytest.mark.parametrize(
    "query, error",
    [
        ({"version": "no-such-version"}, "Version: No model version has that name."),
        ({"rating": "0"}, "Rating: The rating is 1 (thumbs up) or -1 (thumbs down)."),
        ({"reason": "Bad vibes"}, "Reason: Bad vibes is not one of the reasons users pick from."),
        ({"since": "2026-13-01"}, "From: Enter a valid date."),
        ({"since": "2026-02-01", "until": "2026-01-01"}, "The range&#x27;s first day comes after its last."),
    ],
)
def test_a_bad_filter_is_said_plainly(admin_client, query, error):
    response = admin_client.get(PAGE, query)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert "feedback-list" not in response.content.decode()


def test_the_list_pages_fifty_at_a_time_keeping_the_filters(make_user, admin_client):
    alice = make_user(username="alice")
    conversation = Conversation.objects.create(owner=alice)
    Feedback.objects.bulk_create(
        Feedback(
            user=alice,
            rating=-1,
            reasons=["Too verbose"],
            message=Message.objects.create(conversation=conversation, role="assistant", status="complete"),
        )
        for _ in range(51)
    )
    first = admin_client.get(PAGE, {"rating": "-1"})
    assert len(first.context["page"].object_list) == 50
    assert 'href="?rating=-1&amp;page=2"' in first.content.decode()
    assert len(admin_client.get(PAGE, {"rating": "-1", "page": "2"}).context["page"].object_list) == 1


def test_only_admins_open_it_and_see_it_in_their_menu(make_user, admin_client):
    assert b'data-testid="nav-feedback"' in admin_client.get("/accounts/settings/").content
    moderator = Client()
    moderator.force_login(make_user(username="mod", role="moderator"))
    assert moderator.get(PAGE).status_code == 403
    assert b'data-testid="nav-feedback"' not in moderator.get("/accounts/settings/").content
