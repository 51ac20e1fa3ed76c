"""The admins' feedback page in a real browser (issue 17): reached from the
Admin menu, it counts thumbs per version and filters by reason with its own
form, on a desktop and on a 390x844 phone without sideways scrolling."""

import pytest
from playwright.sync_api import expect

from chat import services
from chat.models import Conversation, Message, MessageStatus
from registry.models import ModelVersion

from .conftest import log_in
from .test_account_ui import PHONE, assert_fits

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.integration]

PASSWORD = "a-Strong-pass-123"


def _rated(user, version, rating, reasons, comment=""):
    conversation = Conversation.objects.create(owner=user)
    reply = Message.objects.create(
        conversation=conversation,
        role="assistant",
        content="An answer.",
        status=MessageStatus.COMPLETE,
        model_version=version,
    )
    services.feedback_submit(user=user, message=reply, rating=rating, reasons=reasons, comment=comment)


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_admins_read_the_reasons_per_version_and_filter_by_one(page, make_user, viewport):
    make_user(username="boss", password=PASSWORD, role="admin")
    alice = make_user(username="alice")
    version = ModelVersion.objects.create(name="sft-v2", source="imported", path="/nonexistent")
    _rated(alice, version, -1, ["Too verbose"], comment="Three paragraphs for a yes")
    _rated(alice, version, -1, ["Not helpful"])
    _rated(alice, version, 1, ["Accurate information"])
    if viewport:
        page.set_viewport_size(viewport)
        log_in(page, "boss", PASSWORD)
        page.get_by_test_id("nav-toggle").click()
    else:
        log_in(page, "boss", PASSWORD)
    page.get_by_test_id("navmenu-admin").click()
    page.get_by_test_id("nav-feedback").click()

    counts = page.locator("[data-testid=feedback-counts-row][data-version=sft-v2]")
    expect(counts.locator("td").nth(1)).to_have_text("1")
    expect(counts.locator("td").nth(2)).to_have_text("2")
    expect(counts.locator("td").nth(3)).to_have_text("67%")
    expect(page.get_by_test_id("feedback-row")).to_have_count(3)
    assert_fits(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]

    page.get_by_label("Reason").select_option("Too verbose")
    page.get_by_test_id("feedback-apply").click()
    expect(page.get_by_test_id("feedback-row")).to_have_count(1)
    expect(page.get_by_test_id("feedback-row")).to_contain_text("Three paragraphs for a yes")
    expect(page.get_by_test_id("feedback-conversation")).to_have_text("Not shared")
    assert not page.errors
