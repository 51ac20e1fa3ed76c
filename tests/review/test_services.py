import pytest

from moderation.models import ReviewDecision, ReviewItem
from review.services import review_item_decide, review_items_decide

pytestmark = pytest.mark.django_db


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


def test_every_decision_audits_who_what_and_the_status_before_and_after(item, make_user):
    first, second = make_user(username="mod1", role="moderator"), make_user(username="mod2", role="moderator")
    review_item_decide(item=item, reviewer=first, decision="confirm", note="clear threat")
    review_item_decide(item=item, reviewer=second, decision="overturn", note="a film quote")
    audit = list(
        item.decisions.order_by("at", "id").values_list(
            "reviewer__username", "decision", "status_before", "status_after", "note"
        )
    )
    assert audit == [
        ("mod1", "confirm", "open", "confirmed", "clear threat"),
        ("mod2", "overturn", "confirmed", "overturned", "a film quote"),
    ]
    assert all(decision.at is not None for decision in item.decisions.all())


def test_a_stale_item_object_still_audits_the_stored_status(item, make_user):
    moderator = make_user(username="mod", role="moderator")
    stale = ReviewItem.objects.get(pk=item.pk)
    review_item_decide(item=item, reviewer=moderator, decision="confirm")
    review_item_decide(item=stale, reviewer=moderator, decision="overturn")
    last = item.decisions.order_by("-id").first()
    assert (last.status_before, last.status_after) == ("confirmed", "overturned")


def test_bulk_decide_audits_each_item(flag, make_user):
    moderator = make_user(username="mod", role="moderator")
    first, second, untouched = flag("hate", text="one"), flag("violence", text="two"), flag("sexual", text="three")
    review_item_decide(item=second, reviewer=moderator, decision="confirm")
    decided = review_items_decide(items=[first, second], reviewer=moderator, decision="overturn", note="satire")
    assert {item.pk for item in decided} == {first.pk, second.pk}
    statuses = dict(ReviewItem.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "overturned", second.pk: "overturned", untouched.pk: "open"}
    audit = ReviewDecision.objects.filter(decision="overturn").order_by("item_id")
    assert [(d.item_id, d.status_before, d.status_after, d.note) for d in audit] == [
        (first.pk, "open", "overturned", "satire"),
        (second.pk, "confirmed", "overturned", "satire"),
    ]
    first.refresh_from_db()
    assert first.reviewer == moderator and first.note == "satire" and first.decided_at is not None
