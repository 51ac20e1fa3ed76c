"""Searching one's chats in the sidebar: each result shows where it
matched, the match marked, and nothing the page did not write itself."""

import pytest
from playwright.sync_api import expect

from chat.models import Conversation, Message, MessageStatus

from .conftest import log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.integration]

PASSWORD = "a-Strong-pass-123"


def _chat(owner, title, question, answer):
    conversation = Conversation.objects.create(owner=owner, title=title)
    asked = Message.objects.create(
        conversation=conversation, role="user", content=question, status=MessageStatus.ACCEPTED
    )
    answered = Message.objects.create(
        conversation=conversation, parent=asked, role="assistant", content=answer, status=MessageStatus.COMPLETE
    )
    conversation.current_leaf = answered
    conversation.save()
    return conversation


def _search(page, query):
    page.get_by_test_id("search").fill(query)


def test_a_search_result_shows_the_matching_text_with_the_match_marked(page, make_user):
    user = make_user(username="alice", password=PASSWORD)
    _chat(user, "Travel plans", "Where should I go?", "Lisbon is lovely in spring, and the Pastéis de nata are famous.")
    _chat(user, "Cooking", "How long do I boil an egg?", "About seven minutes.")
    log_in(page, "alice", PASSWORD)
    _search(page, "PASTÉIS")
    results = page.get_by_test_id("conversation-item")
    expect(results).to_have_count(1)
    snippet = results.first.get_by_test_id("conversation-snippet")
    expect(snippet).to_have_text("Lisbon is lovely in spring, and the Pastéis de nata are famous.")
    expect(snippet.locator("mark")).to_have_text("Pastéis")
    expect(results.first.locator(".conv-title")).to_have_text("Travel plans")

    # A title match marks the title; no message matched, so no snippet.
    _search(page, "cook")
    expect(results).to_have_count(1)
    expect(results.first.locator(".conv-title mark")).to_have_text("Cook")
    expect(results.first.get_by_test_id("conversation-snippet")).to_have_count(0)

    # Clearing the search lists every chat again, with no snippets.
    page.get_by_test_id("search").press("Escape")
    expect(results).to_have_count(2)
    expect(page.get_by_test_id("conversation-snippet")).to_have_count(0)
    assert not page.errors


PHONE = {"width": 390, "height": 844}
_WIDTHS = "() => [document.documentElement.scrollWidth, innerWidth]"


def test_on_a_phone_a_long_snippet_wraps_inside_the_sidebar(page, make_user):
    user = make_user(username="carol", password=PASSWORD)
    _chat(
        user, "Links", "Read this", "See https://example.com/" + "a-very-long-path-" * 12 + " for the Needle you want."
    )
    page.set_viewport_size(PHONE)
    log_in(page, "carol", PASSWORD)
    page.locator("#sidebar-toggle").click()
    _search(page, "needle")
    snippet = page.get_by_test_id("conversation-snippet")
    expect(snippet.locator("mark")).to_have_text("Needle")
    box, sidebar = snippet.bounding_box(), page.locator("#sidebar").bounding_box()
    assert box["x"] + box["width"] <= sidebar["x"] + sidebar["width"]
    scroll_width, inner_width = page.evaluate(_WIDTHS)
    assert scroll_width <= inner_width
    assert not page.errors
