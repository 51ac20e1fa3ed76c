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
    page.wait_for_function(f"fetch('/api/conversations/{conversation.pk}/').then(r => r.json()).then(d => d.conversation.max_new_tokens === 30)")
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
        f"fetch('/api/conversations/{conversation.pk}/').then(r => r.json()).then(d => d.conversation.current_leaf === {stopped.pk})"
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
        stopped.pk, -1, ["Not factually correct"], "Made up"
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
        question = Message.objects.create(conversation=conversation, parent=parent, role="user", content=payload, status=MessageStatus.ACCEPTED)
        parent = Message.objects.create(
            conversation=conversation, parent=question, role="assistant", status=MessageStatus.COMPLETE,
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
    assert page.locator("[data-testid=message-content] img, [data-testid=message-content] svg, [data-testid=message-content] script").count() == 0
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
