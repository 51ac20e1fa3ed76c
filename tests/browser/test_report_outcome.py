"""A user who reported an answer learns what the moderator decided: live on
the open chat, after a reload, and on the My reports page."""

import re

import pytest
from playwright.sync_api import expect

from chat.models import Conversation, Message, MessageStatus
from chat.services import message_report

from .conftest import log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.integration]

PASSWORD = "a-Strong-pass-123"


def test_the_reporter_sees_the_moderators_decision_live_after_a_reload_and_in_my_reports(page, make_user):
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
    shown.get_by_test_id("report-message").click()
    page.get_by_test_id("report-reason").fill("It insulted me")
    page.get_by_test_id("report-submit").click()
    expect(shown.get_by_test_id("report-done")).to_have_text("Reported · under review")
    expect(shown.get_by_test_id("report-message")).to_be_disabled()

    # The moderator decides in another browser while alice's chat stays open.
    moderator = page.context.browser.new_context(base_url=page.url.split("/c/")[0])
    moderator_page = moderator.new_page()
    log_in(moderator_page, "mod", PASSWORD)
    moderator_page.goto("/moderation/review/?origin=report")
    expect(moderator_page.get_by_test_id("review-row")).to_have_count(1)
    moderator_page.keyboard.press("o")
    expect(moderator_page.get_by_test_id("review-row")).to_have_attribute("data-status", "overturned")
    moderator.close()

    expect(shown.get_by_test_id("report-done")).to_have_text("Reported · a moderator found no violation")
    # Decided: the answer may be reported again.
    expect(shown.get_by_test_id("report-message")).to_be_enabled()

    page.reload()
    expect(shown.get_by_test_id("report-done")).to_have_text("Reported · a moderator found no violation")

    page.goto("/accounts/settings/")
    page.get_by_test_id("my-reports").click()
    report = page.get_by_test_id("report-row")
    expect(report).to_have_count(1)
    expect(report.get_by_test_id("report-outcome")).to_have_text("Reported · a moderator found no violation")
    expect(report).to_contain_text("Go away, you fool.")
    expect(report).to_contain_text("It insulted me")
    report.get_by_test_id("report-chat").click()
    expect(page).to_have_url(re.compile(rf"/c/{conversation.pk}/$"))
    assert not page.errors


def test_on_a_phone_my_reports_fits_the_screen(page, make_user):
    alice = make_user(username="alice", password=PASSWORD)
    conversation = Conversation.objects.create(owner=alice, title="long")
    answer = Message.objects.create(
        conversation=conversation, role="assistant", content="x" * 400, status=MessageStatus.COMPLETE
    )
    message_report(user=alice, message=answer, reason="y" * 300)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, "alice", PASSWORD)
    page.goto("/accounts/data/reports/")
    expect(page.get_by_test_id("report-outcome")).to_have_text("Reported · under review")
    scroll_width, inner_width = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
    assert scroll_width <= inner_width
    assert not page.errors
