"""Annotators' safety flags and "none is acceptable" reach the moderators'
review queue once per candidate, and a moderator can read and decide them."""

import pytest

from labeling.assignments import ranking_submit, task_assign_next
from moderation.models import ReviewItem
from review.services import review_item_decide

pytestmark = pytest.mark.django_db


def test_a_candidate_flagged_harmful_by_consensus_is_queued_once(annotators, make_ranking_task):
    first, second = annotators(2)
    task, (a, b, c) = make_ranking_task(required=2)
    for annotator in (first, second):
        ranking_submit(
            assignment=task_assign_next(annotator=annotator),
            groups=[[a.pk], [b.pk], [c.pk]],
            flags={c.pk: ["harmful"], b.pk: ["factually_wrong"]},
        )

    (item,) = ReviewItem.objects.all()  # quality flags stay in labeling; consensus ran twice
    assert (item.candidate, item.message, item.origin, item.status) == (c, None, "annotation", "open")
    assert item.text == c.text and item.layer == "annotators" and "flagged harmful" in item.report_reason


def test_none_acceptable_queues_every_candidate(annotators, make_ranking_task):
    (annotator,) = annotators(1)
    task, candidates = make_ranking_task(required=1)
    ranking_submit(
        assignment=task_assign_next(annotator=annotator), groups=[[c.pk] for c in candidates], none_acceptable=True
    )
    items = ReviewItem.objects.filter(origin="annotation")
    assert {item.candidate for item in items} == set(candidates)
    assert all("no answer to this prompt was acceptable" in item.report_reason for item in items)


def test_a_moderator_sees_and_decides_an_annotators_item(annotators, make_ranking_task, client, make_user):
    (annotator,) = annotators(1)
    task, (a, b) = make_ranking_task(k=2, required=1)
    ranking_submit(assignment=task_assign_next(annotator=annotator), groups=[[a.pk], [b.pk]], flags={b.pk: ["spam"]})
    item = ReviewItem.objects.get()
    moderator = make_user(username="mod", role="moderator")
    client.force_login(moderator)

    listing = client.get("/moderation/review/").content.decode()
    detail = client.get(f"/moderation/review/{item.pk}/").content.decode()

    assert 'data-testid="review-annotators"' in listing and b.text in listing
    assert task.prompt.messages[0]["content"] in detail and b.text in detail
    decided = review_item_decide(item=item, reviewer=moderator, decision="overturn", note="just an ad for tea")
    assert decided.status == "overturned"
