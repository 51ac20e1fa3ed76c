"""What the page shows while output moderation holds an answer back: the
model's answer is scripted (tests/helpers/scripted_engine.py) and written
in this process, its frames reaching the browser through the live stack's
channel layer, so the test looks at the page at chosen points."""

import threading

import pytest
from django.db import connection
from playwright.sync_api import expect

from chat import worker
from chat.models import Conversation, Message, MessageStatus

from ..helpers.scripted_engine import ScriptedBackend
from .conftest import log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.integration]

PASSWORD = "a-Strong-pass-123"


def _queued_answer(owner):
    conversation = Conversation.objects.create(owner=owner, title="Capitals")
    question = Message.objects.create(
        conversation=conversation, role="user", content="Capital of France?", status=MessageStatus.ACCEPTED
    )
    answer = Message.objects.create(
        conversation=conversation, parent=question, role="assistant", status=MessageStatus.QUEUED
    )
    conversation.current_leaf = answer
    conversation.save()
    return conversation, answer


def _generate_in_thread(answer_id: int) -> threading.Thread:
    def run():
        try:
            worker.answer_generate(message_id=answer_id)
        finally:
            connection.close()

    thread = threading.Thread(target=run, name="scripted-answer")
    thread.start()
    return thread


def test_a_short_answer_shows_its_first_sentence_while_the_model_still_writes(page, make_user, monkeypatch, settings):
    settings.MODERATION_OUTPUT_LAYERS = ["rules"]
    user = make_user(username="holly", password=PASSWORD)
    conversation, answer = _queued_answer(user)
    model = ScriptedBackend(["Paris", " is"], [" the", " capital", " of", " France", "."], [" It", " is"])
    monkeypatch.setattr(worker, "version_backend", lambda version=None: (model, None))
    log_in(page, "holly", PASSWORD)
    page.goto(f"/c/{conversation.pk}/")
    shown = page.locator("[data-testid=message][data-role=assistant]").first
    expect(shown.locator(".typing-label")).to_have_text("waiting…")

    thread = _generate_in_thread(answer.pk)
    try:
        # Words written, under the hold-back size and no sentence yet: the
        # page says the text is being checked, not that the model thinks.
        expect(shown.locator(".typing-label")).to_have_text("checking…")
        model.go()
        # The sentence ended and passed moderation: it shows while the
        # model is still writing.
        expect(shown.get_by_test_id("message-content")).to_have_text("Paris is the capital of France.")
        expect(shown).to_have_attribute("data-status", "streaming")
        model.go()
        expect(shown).to_have_attribute("data-status", "complete")
        expect(shown.get_by_test_id("message-content")).to_have_text("Paris is the capital of France. It is")
    finally:
        model.go()
        model.go()
        thread.join(timeout=60)
    assert not page.errors
