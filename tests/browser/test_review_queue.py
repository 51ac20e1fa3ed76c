"""A moderator works the review queue by keyboard in a real browser, and a
chat user reports an answer into it, against the live stack."""

import re

import pytest
from playwright.sync_api import expect

from chat.models import Conversation, Message, MessageStatus
from moderation import categories as c
from moderation.flags import review_item_create
from moderation.models import ReviewDecision, ReviewItem

from ..moderation.factories import make_verdict
from .conftest import log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.integration]

PASSWORD = "a-Strong-pass-123"


def rows(page):
    return page.get_by_test_id("review-row")


def row(page, item):
    return page.locator(f"[data-testid=review-row][data-id='{item.pk}']")


def statuses() -> dict[int, str]:
    return dict(ReviewItem.objects.values_list("pk", "status"))


@pytest.fixture
def queue(make_user):
    """Four flagged answers, oldest first; the queue shows them newest first."""
    owner = make_user(username="owner", password=PASSWORD)
    conversation = Conversation.objects.create(owner=owner, title="flagged")
    items = []
    for n, categories in enumerate([(c.HATE,), (c.VIOLENCE,), (c.HARASSMENT, c.VIOLENCE), (c.SEXUAL,)]):
        question = Message.objects.create(
            conversation=conversation, role="user", content=f"question {n}", status=MessageStatus.ACCEPTED
        )
        answer = Message.objects.create(
            conversation=conversation,
            parent=question,
            role="assistant",
            content="(template)",
            status=MessageStatus.MODERATED,
        )
        items.append(
            review_item_create(
                message=answer, direction="output", text=f"flagged text {n}", verdict=make_verdict(*categories)
            )
        )
    return items


def test_a_moderator_decides_by_keyboard(page, make_user, queue):
    oldest, second, third, newest = queue
    make_user(username="mod", password=PASSWORD, role="moderator")
    log_in(page, "mod", PASSWORD)
    page.goto("/moderation/review/")
    expect(rows(page)).to_have_count(4)
    assert [int(r.get_attribute("data-id")) for r in rows(page).all()] == [newest.pk, third.pk, second.pk, oldest.pk]
    expect(row(page, newest)).to_have_class(re.compile(r"\bselected\b"))

    # j moves down; c confirms the selected item and moves on; o overturns.
    page.keyboard.press("j")
    expect(row(page, third)).to_have_class(re.compile(r"\bselected\b"))
    page.keyboard.press("c")
    expect(row(page, third)).to_have_attribute("data-status", "confirmed")
    expect(row(page, second)).to_have_class(re.compile(r"\bselected\b"))
    page.keyboard.press("o")
    expect(row(page, second)).to_have_attribute("data-status", "overturned")
    expect(row(page, second).get_by_test_id("review-status")).to_contain_text("Overturned")
    assert statuses() == {oldest.pk: "open", second.pk: "overturned", third.pk: "confirmed", newest.pk: "open"}

    # n focuses the selected item's note; Escape leaves it; o sends the note.
    expect(row(page, oldest)).to_have_class(re.compile(r"\bselected\b"))
    page.keyboard.press("n")
    expect(row(page, oldest).get_by_test_id("review-note")).to_be_focused()
    page.keyboard.type("a quote from a film")
    page.keyboard.press("Escape")
    page.keyboard.press("o")
    expect(row(page, oldest)).to_have_attribute("data-status", "overturned")
    oldest.refresh_from_db()
    assert oldest.note == "a quote from a film" and oldest.reviewer.username == "mod"

    # x checks items; Shift+O overturns every checked one, a change of mind included.
    page.keyboard.press("k")
    page.keyboard.press("k")
    page.keyboard.press("k")
    expect(row(page, newest)).to_have_class(re.compile(r"\bselected\b"))
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(row(page, newest).get_by_test_id("review-select")).to_be_checked()
    expect(row(page, third).get_by_test_id("review-select")).to_be_checked()
    expect(page.locator("#bulk-count")).to_have_text("2 checked")
    page.keyboard.press("Shift+O")
    expect(row(page, newest)).to_have_attribute("data-status", "overturned")
    expect(row(page, third)).to_have_attribute("data-status", "overturned")
    expect(row(page, third).get_by_test_id("review-select")).not_to_be_checked()
    assert set(statuses().values()) == {"overturned"}
    audit = list(
        ReviewDecision.objects.filter(item=third)
        .order_by("at", "id")
        .values_list("decision", "status_before", "status_after")
    )
    assert audit == [("confirm", "open", "confirmed"), ("overturn", "confirmed", "overturned")]
    assert ReviewDecision.objects.filter(reviewer__username="mod").count() == 5

    # Shift+C with nothing checked decides nothing.
    page.keyboard.press("Shift+C")
    assert ReviewDecision.objects.count() == 5

    # ? shows the shortcuts; Escape hides them; Enter opens the selected item.
    page.keyboard.press("?")
    expect(page.get_by_test_id("review-help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("review-help")).to_be_hidden()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/moderation/review/{third.pk}/$"))
    expect(page.get_by_test_id("review-history-row")).to_have_count(2)
    expect(page.get_by_test_id("review-context")).to_contain_text("question 2")
    assert not page.errors


def test_the_filters_and_the_forms_work_without_a_keyboard(page, make_user, queue):
    oldest, second, third, newest = queue
    make_user(username="mod", password=PASSWORD, role="moderator")
    log_in(page, "mod", PASSWORD)
    page.goto("/moderation/review/")
    page.get_by_test_id("filter-category").select_option("violence")
    expect(page).to_have_url(re.compile(r"category=violence"))
    expect(rows(page)).to_have_count(2)  # flagged violence, top category or not
    row(page, second).get_by_test_id("review-select").check()
    row(page, third).get_by_test_id("review-select").check()
    page.get_by_test_id("bulk-note").fill("news report")
    with page.expect_response(lambda response: "/moderation/review/decide/" in response.url) as answered:
        page.get_by_test_id("bulk-confirm").click()
    assert answered.value.ok
    expect(row(page, second)).to_have_attribute("data-status", "confirmed")
    expect(row(page, third)).to_have_attribute("data-status", "confirmed")
    assert statuses() == {oldest.pk: "open", second.pk: "confirmed", third.pk: "confirmed", newest.pk: "open"}
    assert set(ReviewDecision.objects.values_list("note", flat=True)) == {"news report"}
    page.get_by_test_id("filter-status").select_option("confirmed")
    expect(page).to_have_url(re.compile(r"status=confirmed"))
    expect(rows(page)).to_have_count(2)
    assert not page.errors


def test_a_user_reports_an_answer_and_a_moderator_confirms_it(page, make_user):
    alice = make_user(username="alice", password=PASSWORD)
    make_user(username="mod", password=PASSWORD, role="moderator")
    conversation = Conversation.objects.create(owner=alice, title="rude bot")
    question = Message.objects.create(
        conversation=conversation, role="user", content="How are you?", status=MessageStatus.ACCEPTED
    )
    answer = Message.objects.create(
        conversation=conversation,
        parent=question,
        role="assistant",
        content="Go away, you fool.",
        status=MessageStatus.COMPLETE,
    )
    conversation.current_leaf = answer
    conversation.save()

    log_in(page, "alice", PASSWORD)
    page.goto(f"/c/{conversation.pk}/")
    shown = page.locator("[data-testid=message][data-role=assistant]")
    expect(shown).to_have_count(1)
    shown.get_by_test_id("report-message").click()
    expect(page.get_by_test_id("report-reason")).to_be_focused()
    page.get_by_test_id("report-reason").fill("It insulted me")
    with page.expect_response(lambda response: "/report/" in response.url) as sent:
        page.get_by_test_id("report-submit").click()
    assert sent.value.status == 201
    expect(shown.get_by_test_id("report-done")).to_be_visible()
    expect(shown.get_by_test_id("report-message")).to_be_disabled()
    expect(page.get_by_test_id("report-reason")).to_have_count(0)
    item = ReviewItem.objects.get()
    assert (item.origin, item.message_id, item.reported_by, item.report_reason) == (
        "report",
        answer.pk,
        alice,
        "It insulted me",
    )

    page.get_by_test_id("logout").click()
    page.wait_for_url("**/accounts/login/")
    log_in(page, "mod", PASSWORD)
    page.goto("/moderation/review/?origin=report")
    expect(rows(page)).to_have_count(1)
    expect(row(page, item)).to_contain_text("It insulted me")
    page.keyboard.press("c")
    expect(row(page, item)).to_have_attribute("data-status", "confirmed")
    item.refresh_from_db()
    assert item.status == "confirmed" and item.reviewer.username == "mod"
    assert not page.errors


def test_a_decided_item_leaves_the_open_items(page, make_user, queue):
    oldest, second, third, newest = queue
    make_user(username="mod", password=PASSWORD, role="moderator")
    log_in(page, "mod", PASSWORD)
    page.goto("/moderation/review/")
    open_rows = page.get_by_test_id("review-open-items").get_by_test_id("review-row")
    expect(open_rows).to_have_count(4)
    row(page, third).get_by_test_id("review-confirm").click()

    expect(open_rows).to_have_count(3)
    decided = page.get_by_test_id("review-decided-items")
    expect(decided).to_be_visible()
    expect(decided.get_by_test_id("review-row")).to_have_count(1)
    expect(decided.locator(f"[data-id='{third.pk}']")).to_have_attribute("data-status", "confirmed")
    assert not page.errors


def test_the_queue_shows_rendered_markdown_many_items_to_a_screen(page, make_user):
    owner = make_user(username="owner", password=PASSWORD)
    conversation = Conversation.objects.create(owner=owner, title="flagged")
    for n in range(10):
        answer = Message.objects.create(
            conversation=conversation, role="assistant", content="(template)", status=MessageStatus.MODERATED
        )
        text = f"Item {n}: **bold** claim\n\n- first point\n- second point\n\n<script>window.pwned = 1</script>"
        review_item_create(message=answer, direction="output", text=text, verdict=make_verdict(c.HATE))
    make_user(username="mod", password=PASSWORD, role="moderator")
    log_in(page, "mod", PASSWORD)
    page.goto("/moderation/review/")

    first = rows(page).first.locator("td.text")
    expect(first.locator("strong")).to_have_text("bold")
    expect(first.locator("li")).to_have_count(2)
    expect(first.locator("script")).to_have_count(0)
    expect(first).to_contain_text("<script>")  # shown as text, never run
    # A 900-pixel screen shows at least seven items, not four.
    seventh = rows(page).nth(6).bounding_box()
    assert seventh["y"] + seventh["height"] <= 900
    assert page.evaluate("window.pwned") is None
    assert not page.errors
