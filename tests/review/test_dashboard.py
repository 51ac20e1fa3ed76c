"""The dashboard's figures on a small, hand-counted fixture."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chat.models import Conversation, Message
from moderation import categories as c
from moderation.flags import review_item_create, review_item_report
from moderation.models import ReviewItem
from review.dashboard import flag_rates_by_day, moderation_dashboard, overturn_rates_by_layer
from review.services import review_item_decide

from ..moderation.factories import make_verdict

pytestmark = pytest.mark.django_db

NOW = timezone.now()
TODAY = NOW.date()


@pytest.fixture
def day(make_user):
    """Today: five messages judged, two flagged. q2 is a flagged question
    whose answer input moderation replaced (the answer carries the same
    verdict but was never judged); a3 is an answer flagged on output. A
    user's report is not a flag. Yesterday: two messages judged, none
    flagged. Three weeks ago: a flag outside the window."""
    owner = make_user(username="owner")
    conversation = Conversation.objects.create(owner=owner)
    clean = make_verdict().as_dict()

    def message(role, parent=None, verdict=clean, at=NOW, content="text"):
        created = Message.objects.create(
            conversation=conversation, parent=parent, role=role, content=content, status="complete", moderation=verdict
        )
        Message.objects.filter(pk=created.pk).update(created_at=at)
        return created

    def item(target, direction, verdict, at=NOW):
        created = review_item_create(message=target, direction=direction, text="t", verdict=verdict)
        ReviewItem.objects.filter(pk=created.pk).update(created_at=at)
        return created

    q1 = message("user")
    message("assistant", q1)
    hate = make_verdict(c.HATE)
    q2 = message("user", verdict=hate.as_dict())
    a2 = message("assistant", q2, verdict=hate.as_dict())
    item(a2, "input", hate)
    q3 = message("user", a2)
    both = make_verdict(c.VIOLENCE, c.HARASSMENT, layer="profanity")
    a3 = message("assistant", q3, verdict=both.as_dict())
    item(a3, "output", both)
    message("assistant", q3, verdict=None)  # stopped before its final check: never judged
    review_item_report(message=a3, reported_by=owner, reason="rude")

    yesterday = NOW - timedelta(days=1)
    message("user", at=yesterday)
    message("assistant", at=yesterday)

    long_ago = NOW - timedelta(days=21)
    old = message("user", verdict=hate.as_dict(), at=long_ago)
    item(old, "input", hate, at=long_ago)


def test_flag_rates_per_category_and_day(day):
    rows = flag_rates_by_day(days=14, today=TODAY)
    assert len(rows) == 14 and rows[0].day == TODAY - timedelta(days=13) and rows[-1].day == TODAY
    today, yesterday = rows[-1], rows[-2]
    assert (today.moderated, today.flagged) == (5, 2)
    assert (
        today.by_category[c.HATE] == 1 and today.by_category[c.VIOLENCE] == 1 and today.by_category[c.HARASSMENT] == 1
    )
    assert today.by_category[c.SEXUAL] == 0
    assert today.flag_rate == pytest.approx(0.4)
    assert today.category_rates([c.HATE, c.SEXUAL]) == [(c.HATE, 1, pytest.approx(0.2)), (c.SEXUAL, 0, 0.0)]
    assert (yesterday.moderated, yesterday.flagged, yesterday.flag_rate) == (2, 0, 0.0)
    assert all(row.moderated == 0 and row.flag_rate is None for row in rows[:-2])


def test_overturn_rates_per_layer(exchange, flag, make_user):
    moderator = make_user(username="mod", role="moderator")
    rules_a, rules_b, rules_open = flag(c.HATE, layer="rules"), flag(c.HATE, layer="rules"), flag(c.HATE, layer="rules")
    profanity = flag(c.HARASSMENT, layer="profanity")
    report = review_item_report(message=exchange[1], reported_by=exchange[1].conversation.owner, reason="")
    review_item_decide(item=rules_a, reviewer=moderator, decision="confirm")
    review_item_decide(item=rules_b, reviewer=moderator, decision="confirm")
    review_item_decide(item=rules_b, reviewer=moderator, decision="overturn")  # the latest decision counts
    review_item_decide(item=profanity, reviewer=moderator, decision="confirm")
    review_item_decide(item=report, reviewer=moderator, decision="overturn")
    rates = {row.label: (row.decided, row.overturned, row.rate) for row in overturn_rates_by_layer()}
    assert rates == {"rules": (2, 1, 0.5), "profanity": (1, 0, 0.0), "user reports": (1, 1, 1.0)}
    assert rules_open.status == "open"


def test_the_dashboard_page_shows_the_numbers(day, client, make_user):
    client.force_login(make_user(username="mod", role="moderator"))
    response = client.get("/moderation/dashboard/")
    assert response.status_code == 200
    page = response.content.decode()
    context = response.context
    assert context["categories"] == [c.HATE, c.HARASSMENT, c.VIOLENCE]
    assert context["totals"]["moderated"] == 7 and context["totals"]["flagged"] == 2
    assert context["rows"][-1]["bar"] == 100.0 and context["rows"][-2]["bar"] == 0.0
    assert f'data-day="{TODAY:%Y-%m-%d}"' in page and "0.400" in page and "0.200" in page
    assert "<script" not in page.split("<main", 1)[1], "server-rendered, no chart library"


def test_an_empty_dashboard_renders(client, make_user):
    client.force_login(make_user(username="mod", role="moderator"))
    response = client.get("/moderation/dashboard/")
    assert response.status_code == 200 and "No decisions yet." in response.content.decode()
    assert moderation_dashboard(days=14)["totals"]["rate"] is None
