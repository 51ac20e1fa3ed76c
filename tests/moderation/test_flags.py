import pytest

from moderation import categories as c
from moderation.models import ReviewItem

pytestmark = pytest.mark.django_db


def test_create_keeps_the_text_and_verdict(item, exchange):
    item.refresh_from_db()
    assert item.message == exchange[1] and item.direction == ReviewItem.Direction.OUTPUT
    assert item.text == "I will kill you"
    assert item.verdict["flagged"] is True and item.verdict["layer"] == "rules"
    assert item.layer == "rules" and item.top_category == c.HARASSMENT_THREATENING
    assert item.status == ReviewItem.Status.OPEN and item.reviewer is None and item.decided_at is None
