import pytest

from moderation import categories as c
from moderation.models import ReviewDecision, ReviewItem
from moderation.pipeline import moderate
from moderation.services import review_item_create, review_item_decide

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(exchange):
    _, answer = exchange
    verdict = moderate("I will kill you", "assistant")
    return review_item_create(message=answer, direction="output", text="I will kill you", verdict=verdict)


def test_create_keeps_the_text_and_verdict(item, exchange):
    item.refresh_from_db()
    assert item.message == exchange[1] and item.direction == ReviewItem.Direction.OUTPUT
    assert item.text == "I will kill you"
    assert item.verdict["flagged"] is True and item.verdict["layer"] == "rules"
    assert item.layer == "rules" and item.top_category == c.HARASSMENT_THREATENING
    assert item.status == ReviewItem.Status.OPEN and item.reviewer is None and item.decided_at is None


def test_decide_sets_the_status_and_audits(item, make_user):
    moderator = make_user(username="mod", role="moderator")
    review_item_decide(item=item, reviewer=moderator, decision="overturn", note="a quote from a film")
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.OVERTURNED and item.reviewer == moderator
    assert item.note == "a quote from a film" and item.decided_at is not None
    (row,) = ReviewDecision.objects.filter(item=item)
    assert (row.reviewer, row.decision, row.note) == (moderator, "overturn", "a quote from a film")


def test_a_change_of_mind_is_audited_too(item, make_user):
    moderator = make_user(username="mod", role="moderator")
    review_item_decide(item=item, reviewer=moderator, decision="overturn")
    review_item_decide(item=item, reviewer=moderator, decision="confirm", note="on reflection")
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.CONFIRMED
    assert list(item.decisions.values_list("decision", flat=True)) == ["overturn", "confirm"]
