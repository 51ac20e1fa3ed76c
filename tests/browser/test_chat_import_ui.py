"""Chat import in a real browser against the live stack (uvicorn, Redis and
a Celery worker): a ChatGPT export uploaded from the data controls is
imported by the worker, shows in the sidebar marked as imported, and opens
on the branch the user left off on, with the other branch a switch away."""

import pytest
from playwright.sync_api import expect

from chat.models import ChatImport

from ..helpers.chat_exports import chatgpt_export, chatgpt_zip
from .conftest import log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.integration]

PASSWORD = "a-Strong-pass-123"


def answers(page):
    return page.locator("[data-testid=message][data-role=assistant]")


def test_an_imported_chatgpt_export_shows_in_the_sidebar_with_its_branches(page, make_user):
    make_user(username="alice", password=PASSWORD)
    log_in(page, "alice", PASSWORD)
    page.goto("/accounts/settings/")
    page.get_by_test_id("import-chats").click()
    expect(page.get_by_test_id("imports-empty")).to_be_visible()

    page.get_by_test_id("import-file").set_input_files(
        files=[{"name": "chatgpt-export.zip", "mimeType": "application/zip", "buffer": chatgpt_zip(chatgpt_export())}]
    )
    page.get_by_test_id("import-submit").click()
    # The page follows the worker until the import is done.
    row = page.get_by_test_id("import-row").first
    expect(row).to_have_attribute("data-state", "done", timeout=60_000)
    expect(row.get_by_test_id("import-counts")).to_contain_text("2 conversations, 9 messages")
    expect(row.get_by_test_id("import-skipped")).to_contain_text("2 tool messages")
    expect(row.get_by_test_id("import-not-shared")).to_be_visible()
    assert ChatImport.objects.get().shares_prompts is False

    page.goto("/")
    item = page.get_by_test_id("conversation-item").filter(has_text="Tides explained")
    expect(item.get_by_test_id("conversation-imported")).to_have_text("Imported")
    item.click()
    # Where the user left off: the second answer to the first question.
    expect(answers(page).last.get_by_test_id("message-content")).to_have_text("That is a spring tide.")
    expect(page.get_by_test_id("branch-label").first).to_have_text("2/2")
    page.get_by_test_id("branch-prev").first.click()
    expect(page.get_by_test_id("branch-label").first).to_have_text("1/2")
    expect(answers(page).last.get_by_test_id("message-content")).to_have_text("Wind makes waves.")
    assert not page.errors


def test_a_bad_file_is_refused_on_the_page(page, make_user):
    make_user(username="bob", password=PASSWORD)
    log_in(page, "bob", PASSWORD)
    page.goto("/accounts/data/import/")
    page.get_by_test_id("import-file").set_input_files(
        files=[{"name": "notes.json", "mimeType": "application/json", "buffer": b'{"notes": []}'}]
    )
    page.get_by_test_id("import-shares-prompts").check()
    page.get_by_test_id("import-submit").click()
    expect(page.get_by_test_id("import-error")).to_contain_text(
        "neither a ChatGPT export (conversations.json) nor an Open WebUI chat export"
    )
    expect(page.get_by_test_id("import-row")).to_have_attribute("data-state", "failed")
    assert not page.errors
