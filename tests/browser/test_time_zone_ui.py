"""Times in the reader's time zone in a real browser (issue 17): a browser
in Tokyo sees a server-rendered time in Tokyo time once it has opened any
page of the site (static/js/timezone.js sends its zone), with no setting
touched; an account's own choice in Settings wins over the browser's."""

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from jobs.models import TrainingJob

from .conftest import log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.integration]

PASSWORD = "a-Strong-pass-123"
NOON_UTC = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def tokyo_page(page, live_server_url):
    """A second browser context of the same chromium, its clock in Tokyo."""
    context = page.context.browser.new_context(
        base_url=live_server_url, viewport={"width": 1280, "height": 900}, timezone_id="Asia/Tokyo"
    )
    context.set_default_timeout(20_000)
    tokyo = context.new_page()
    tokyo.errors = []
    tokyo.on("pageerror", lambda error: tokyo.errors.append(str(error)))
    yield tokyo
    context.close()


def test_the_jobs_page_shows_tokyo_time_to_a_browser_in_tokyo(tokyo_page, make_user):
    boss = make_user(username="boss", password=PASSWORD, role="admin")
    job = TrainingJob.objects.create(
        kind="sft", preset="cpu-quick", recipe="training.sft", created_by=boss, state=TrainingJob.State.FAILED
    )
    TrainingJob.objects.filter(pk=job.pk).update(created_at=NOON_UTC)

    log_in(tokyo_page, "boss", PASSWORD)
    tokyo_page.goto("/jobs/")
    row = tokyo_page.locator(f"[data-testid=job][data-id='{job.pk}']")
    expect(row).to_contain_text("2026-01-15 21:00")

    tokyo_page.goto("/accounts/settings/")
    expect(tokyo_page.get_by_test_id("time-zone").locator("option").first).to_have_text(
        "Automatic: this browser's (Asia/Tokyo)"
    )
    tokyo_page.get_by_test_id("time-zone").select_option("Europe/Paris")
    tokyo_page.get_by_test_id("settings-save").click()
    expect(tokyo_page.locator(".flash")).to_contain_text("Settings saved.")
    tokyo_page.goto("/jobs/")
    expect(row).to_contain_text("2026-01-15 13:00")
    assert not tokyo_page.errors
