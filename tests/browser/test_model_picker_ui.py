"""The model picker in the chat header, against the live stack: a user
picks a version an admin offers, and the answer is written by it and says
so; on a phone the picker and its list fit the screen. The worker process
loads the picked version from its directory, as production does."""

import pytest
from playwright.sync_api import expect

from chat.models import Conversation, Message, MessageStatus
from engine.tiny import build_tiny_chat_model
from registry.models import ModelVersion

from .conftest import log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.integration]

PASSWORD = "a-Strong-pass-123"
PHONE = {"width": 390, "height": 844}
_WIDTHS = "() => [document.documentElement.scrollWidth, innerWidth]"


@pytest.fixture
def offered(tmp_path):
    return ModelVersion.objects.create(
        name="tiny-picked",
        kind="policy",
        source="trained",
        path=str(build_tiny_chat_model(tmp_path / "picked", never_ends=True, seed=7)),
        chat_available=True,
        chat_label="Picked Tiny",
        description="A second tiny model, offered for this test.",
    )


def _last_answer(page):
    return page.locator("[data-testid=message][data-role=assistant]").last


def _choose(page, label):
    page.get_by_test_id("model-picker-button").click()
    option = page.get_by_test_id("model-option").filter(has_text=label)
    expect(option).to_be_visible()
    option.click()
    expect(page.get_by_test_id("model-picker-label")).to_have_text(label)


def test_a_picked_model_writes_the_answers_of_an_open_chat_and_a_withdrawn_one_says_so(page, make_user, offered):
    user = make_user(username="pia", password=PASSWORD)
    conversation = Conversation.objects.create(owner=user, title="Pick a model", max_new_tokens=6)
    log_in(page, "pia", PASSWORD)
    page.goto(f"/c/{conversation.pk}/")
    expect(page.get_by_test_id("model-picker-label")).to_have_text("Default model")
    page.get_by_test_id("model-picker-button").click()
    options = page.get_by_test_id("model-option")
    expect(options).to_have_count(2)
    expect(options.nth(1)).to_contain_text("A second tiny model, offered for this test.")
    options.nth(1).click()
    expect(page.get_by_test_id("model-picker-label")).to_have_text("Picked Tiny")
    page.wait_for_function(
        f"fetch('/api/conversations/{conversation.pk}/')"
        f".then(r => r.json()).then(d => d.conversation.model_version === {offered.pk})"
    )

    page.get_by_test_id("composer").fill("Hello there")
    page.get_by_test_id("composer").press("Enter")
    answer = _last_answer(page)
    expect(answer).to_have_attribute("data-status", "complete", timeout=60_000)
    expect(answer.locator(".msg-stats")).to_contain_text("tiny-picked")
    written = Message.objects.get(conversation=conversation, role="assistant")
    assert (written.model_version, written.status) == (offered, MessageStatus.COMPLETE)

    # The admin stops offering it: the chat says its answers now come from the default.
    ModelVersion.objects.filter(pk=offered.pk).update(chat_available=False)
    page.reload()
    expect(page.get_by_test_id("model-note")).to_contain_text("no longer offered")
    expect(page.get_by_test_id("model-picker-label")).to_have_text("Default model")
    assert not page.errors


def test_on_a_phone_a_new_chat_picks_a_model_and_nothing_runs_off_the_screen(page, make_user, offered):
    make_user(username="phil", password=PASSWORD)
    page.set_viewport_size(PHONE)
    log_in(page, "phil", PASSWORD)
    picker = page.get_by_test_id("model-picker-button")
    expect(picker).to_be_visible()
    page.get_by_test_id("model-picker-button").click()
    for option in page.get_by_test_id("model-option").all():
        box = option.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    page.get_by_test_id("model-option").filter(has_text="Picked Tiny").click()
    expect(page.get_by_test_id("model-picker-label")).to_have_text("Picked Tiny")
    for testid in ("model-picker-button", "settings-toggle", "composer"):
        box = page.get_by_test_id(testid).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], testid

    page.get_by_test_id("composer").fill("Hello from a phone")
    page.get_by_test_id("composer").press("Enter")
    answer = _last_answer(page)
    expect(answer).to_have_attribute("data-status", "complete", timeout=60_000)
    expect(answer.locator(".msg-stats")).to_contain_text("tiny-picked")
    conversation = Conversation.objects.get(owner__username="phil")
    assert conversation.model_version == offered
    scroll_width, inner_width = page.evaluate(_WIDTHS)
    assert scroll_width <= inner_width, f"{scroll_width} px wide on a {inner_width} px screen"
    assert not page.errors
