"""A person's session in a real browser against the live stack: Daphne,
Redis and a Celery worker process running the tiny model."""

import re

import pytest
from playwright.sync_api import expect

from chat.models import Conversation, Feedback, Message, MessageStatus

from .conftest import log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.integration]

PASSWORD = "a-Strong-pass-123"


def answers(page):
    return page.locator("[data-testid=message][data-role=assistant]")


def test_chat_streams_stops_regenerates_branches_and_takes_feedback(page, make_user):
    make_user(username="alice", password=PASSWORD)
    log_in(page, "alice", PASSWORD)

    # A long answer, so there is time to watch it stream and to stop it.
    page.get_by_test_id("settings-toggle").click()
    page.get_by_test_id("max-new-tokens").fill("4000")
    page.get_by_test_id("settings-save").click()

    page.get_by_test_id("composer").fill("Tell me a long story")
    page.get_by_test_id("composer").press("Enter")
    answer = answers(page).first
    expect(answer).to_have_attribute("data-status", "streaming")
    content = answer.get_by_test_id("message-content")
    expect(content).not_to_have_text("")
    first_length = len(content.inner_text())
    page.wait_for_function(
        "n => document.querySelector('[data-role=assistant] [data-testid=message-content]').innerText.length > n",
        arg=first_length,
    )
    expect(page).to_have_url(re.compile(r"/c/\d+/$"))

    page.get_by_test_id("stop").click()
    expect(answer).to_have_attribute("data-status", "stopped")
    stopped_text = content.inner_text()
    assert stopped_text.strip()
    conversation = Conversation.objects.get()
    stopped = Message.objects.get(role="assistant")
    assert stopped.status == MessageStatus.STOPPED and stopped.content.strip()

    # A short second answer to the same question.
    page.get_by_test_id("settings-toggle").click()
    page.get_by_test_id("max-new-tokens").fill("30")
    page.get_by_test_id("settings-save").click()
    page.wait_for_function(
        f"fetch('/api/conversations/{conversation.pk}/')"
        ".then(r => r.json()).then(d => d.conversation.max_new_tokens === 30)"
    )
    answer.get_by_test_id("regenerate").click()
    expect(page.get_by_test_id("branch-label").last).to_have_text("2/2")
    current = answers(page).last
    expect(current).to_have_attribute("data-status", "complete", timeout=30_000)
    regenerated = Message.objects.filter(role="assistant").order_by("-id").first()
    assert regenerated.parent_id == stopped.parent_id and regenerated.completion_tokens == 30

    # Back to the first branch: the stopped answer shows again.
    page.get_by_test_id("branch-prev").last.click()
    expect(page.get_by_test_id("branch-label").last).to_have_text("1/2")
    expect(answers(page).last.get_by_test_id("message-content")).to_have_text(stopped_text)
    conversation.refresh_from_db()
    page.wait_for_function(
        f"fetch('/api/conversations/{conversation.pk}/')"
        f".then(r => r.json()).then(d => d.conversation.current_leaf === {stopped.pk})"
    )

    # Thumbs down with a reason and a comment.
    answers(page).last.get_by_test_id("thumbs-down").click()
    page.locator("[data-testid=feedback-reason][data-reason='Not factually correct']").click()
    page.get_by_test_id("feedback-comment").fill("Made up")
    with page.expect_response(lambda response: "/feedback/" in response.url) as saved:
        page.get_by_test_id("feedback-save").click()
    assert saved.value.ok
    feedback = Feedback.objects.get()
    assert (feedback.message_id, feedback.rating, feedback.reasons, feedback.comment) == (
        stopped.pk,
        -1,
        ["Not factually correct"],
        "Made up",
    )
    assert not page.errors


def test_markdown_and_user_text_never_run_scripts(page, make_user):
    user = make_user(username="bob", password=PASSWORD)
    conversation = Conversation.objects.create(owner=user, title="xss")
    payloads = [
        '<img src=x onerror="window.__xss=1">',
        "<script>window.__xss=2</script>",
        "[click me](javascript:window.__xss=3)",
        '<svg onload="window.__xss=4">',
    ]
    parent = None
    for payload in payloads:
        question = Message.objects.create(
            conversation=conversation, parent=parent, role="user", content=payload, status=MessageStatus.ACCEPTED
        )
        parent = Message.objects.create(
            conversation=conversation,
            parent=question,
            role="assistant",
            status=MessageStatus.COMPLETE,
            content=f"Here it is:\n\n{payload}\n\n```js\nalert(1)\n```",
        )
    conversation.current_leaf = parent
    conversation.save()

    log_in(page, "bob", PASSWORD)
    page.goto(f"/c/{conversation.pk}/")
    expect(page.get_by_test_id("message")).to_have_count(8)
    for link in page.locator("[data-testid=message-content] a").all():
        link.click()
    assert page.evaluate("window.__xss") is None
    assert page.dialogs == []
    assert (
        page.locator(
            "[data-testid=message-content] img, [data-testid=message-content] svg, [data-testid=message-content] script"
        ).count()
        == 0
    )
    expect(page.locator("[data-role=user] [data-testid=message-content]").first).to_have_text(payloads[0])


def test_another_users_conversation_is_refused(page, make_user):
    owner = make_user(username="owner", password=PASSWORD)
    make_user(username="intruder", password=PASSWORD)
    conversation = Conversation.objects.create(owner=owner, title="secret plans")
    log_in(page, "intruder", PASSWORD)
    response = page.goto(f"/c/{conversation.pk}/")
    assert response.status == 404
    assert "secret plans" not in page.content()
    page.goto("/")
    expect(page.get_by_test_id("conversation-item")).to_have_count(0)


def _exchange(owner, answer_text, **answer_fields):
    conversation = Conversation.objects.create(owner=owner, title="An exchange")
    question = Message.objects.create(
        conversation=conversation, role="user", content="Go on", status=MessageStatus.ACCEPTED
    )
    answer = Message.objects.create(
        conversation=conversation,
        parent=question,
        role="assistant",
        content=answer_text,
        status=MessageStatus.COMPLETE,
        **answer_fields,
    )
    conversation.current_leaf = answer
    conversation.save()
    return conversation, answer


def test_a_reported_answer_stays_reported_after_a_reload(page, make_user):
    user = make_user(username="carol", password=PASSWORD)
    conversation, _ = _exchange(user, "You are a fool.")
    log_in(page, "carol", PASSWORD)
    page.goto(f"/c/{conversation.pk}/")
    answers(page).first.get_by_test_id("report-message").click()
    page.get_by_test_id("report-reason").fill("Rude")
    page.get_by_test_id("report-submit").click()
    expect(page.get_by_test_id("report-done")).to_be_visible()

    page.reload()
    answer = answers(page).first
    expect(answer.get_by_test_id("report-done")).to_be_visible()
    expect(answer.get_by_test_id("report-message")).to_be_disabled()
    expect(page.locator("#chat-error")).to_be_hidden()
    assert not page.errors


def test_an_answer_keeps_its_single_line_breaks(page, make_user):
    user = make_user(username="dave", password=PASSWORD)
    conversation, _ = _exchange(user, "Roses are red,\nViolets are blue.\n\nThe end.")
    log_in(page, "dave", PASSWORD)
    page.goto(f"/c/{conversation.pk}/")
    content = answers(page).first.get_by_test_id("message-content")
    expect(content.locator("p").first).to_have_text("Roses are red,\nViolets are blue.")
    expect(content.locator("p br")).to_have_count(1)


def test_a_cut_off_answer_says_so_and_continues(page, make_user):
    """The tiny model never ends its turn, so every answer is cut off."""
    make_user(username="erin", password=PASSWORD)
    log_in(page, "erin", PASSWORD)
    page.get_by_test_id("settings-toggle").click()
    page.get_by_test_id("max-new-tokens").fill("8")
    page.get_by_test_id("settings-save").click()
    page.get_by_test_id("composer").fill("Write me a poem")
    page.get_by_test_id("composer").press("Enter")
    answer = answers(page).first
    expect(answer).to_have_attribute("data-status", "complete", timeout=30_000)
    expect(answer.get_by_test_id("cut-off-note")).to_contain_text("Cut off at the length limit")
    first = Message.objects.get(role="assistant")
    assert first.finish_reason == "length"

    answer.get_by_test_id("continue").click()
    page.wait_for_function(
        "n => { const a = document.querySelector('[data-role=assistant]');"
        " return a.dataset.status === 'complete'"
        " && a.querySelector('[data-testid=message-content]').textContent.length > n; }",
        arg=len(first.content.strip()),
    )
    continued = Message.objects.get(role="assistant")
    assert continued.pk == first.pk and continued.content.startswith(first.content)
    assert continued.completion_tokens == 16, "both runs' tokens"
    expect(answers(page)).to_have_count(1)
    expect(answer.get_by_test_id("cut-off-note")).to_be_visible()
    assert not page.errors


def test_a_flagged_message_does_not_name_the_conversation(page, make_user):
    from moderation.models import ModerationRule

    ModerationRule.objects.create(category="violence", kind="words", pattern="brawl", score=0.95)
    make_user(username="frank", password=PASSWORD)
    log_in(page, "frank", PASSWORD)
    page.get_by_test_id("composer").fill("Plan a brawl outside the station")
    page.get_by_test_id("composer").press("Enter")
    expect(page.locator("[data-testid=message][data-role=user]")).to_have_attribute("data-status", "flagged")
    expect(page.get_by_test_id("conversation-item")).to_have_text(["New chat"])
    expect(page.locator("#chat-title")).to_have_text("New chat")
    page.reload()
    expect(page.get_by_test_id("conversation-item")).to_have_text(["New chat"])


def test_a_message_sent_while_the_socket_is_away_goes_out_once_it_opens(page, make_user):
    """Enter pressed before the page's socket opened (just after the page
    loaded, or while it reconnects) used to lose the send: the message
    waits and goes out once the socket opens, once. The chat socket is
    refused (closed with 4503, "briefly away") until the test lets it
    through to the live server."""
    make_user(username="gale", password=PASSWORD)
    log_in(page, "gale", PASSWORD)
    let_through = []

    def route(ws):
        if let_through:
            ws.connect_to_server()
        else:
            ws.close(code=4503, reason="Away")

    page.route_web_socket(re.compile(r"/ws/chat/$"), route)
    page.reload()
    expect(page.locator("#conn-banner")).to_contain_text("Reconnecting")
    page.get_by_test_id("composer").fill("Are you there?")
    page.get_by_test_id("composer").press("Enter")
    expect(page.get_by_test_id("composer")).to_have_value("")
    expect(page.locator(".chat-error-text")).to_contain_text("goes out as soon as the connection opens")
    assert not Message.objects.exists()

    let_through.append(True)
    answer = answers(page).first
    expect(answer.get_by_test_id("message-content")).not_to_have_text("", timeout=30_000)
    expect(page.locator(".chat-error-text")).to_have_count(0)
    assert list(Message.objects.filter(role="user").values_list("content", flat=True)) == ["Are you there?"]
    assert not page.errors
