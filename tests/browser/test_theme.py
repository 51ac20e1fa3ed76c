"""The theme button in the top bar (static/js/theme.js): System, Light,
Dark in turn, applied to <html data-theme> before the first paint (a
classic script in <head>), remembered across reloads, on a desk-sized
window and on a phone."""

import pytest
from playwright.sync_api import expect

from ..helpers.polling import eventually
from .conftest import log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.integration]

PASSWORD = "a-Strong-pass-123"


def _background(page) -> str:
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}])
def test_the_theme_switches_and_survives_a_reload(page, make_user, viewport):
    page.set_viewport_size(viewport)
    page.emulate_media(color_scheme="light")
    make_user(username="tess", password=PASSWORD)
    log_in(page, "tess", PASSWORD)
    html = page.locator("html")
    toggle = page.get_by_test_id("theme-toggle")
    expect(toggle).to_be_visible()
    expect(toggle).to_contain_text("System")
    expect(html).to_have_attribute("data-theme", "light")
    light = _background(page)

    toggle.click()
    expect(toggle).to_contain_text("Light")
    toggle.click()
    expect(toggle).to_contain_text("Dark")
    expect(html).to_have_attribute("data-theme", "dark")
    dark = _background(page)
    assert dark != light

    # Remembered, and there before the first paint: set by the time the
    # parser reaches <body>, before any module script runs.
    page.add_init_script(
        """new MutationObserver((records, observer) => {
          if (!document.body) return;
          window.themeAtBody = document.documentElement.dataset.theme || 'none';
          observer.disconnect();
        }).observe(document, { childList: true, subtree: true });"""
    )
    page.reload()
    expect(html).to_have_attribute("data-theme", "dark")
    assert page.evaluate("window.themeAtBody") == "dark"
    expect(toggle).to_contain_text("Dark")
    assert _background(page) == dark
    page.goto("/accounts/settings/")
    expect(html).to_have_attribute("data-theme", "dark")

    # System follows the device.
    toggle.click()
    expect(toggle).to_contain_text("System")
    expect(html).to_have_attribute("data-theme", "light")
    page.emulate_media(color_scheme="dark")
    expect(html).to_have_attribute("data-theme", "dark")
    page.reload()
    expect(html).to_have_attribute("data-theme", "dark")
    expect(toggle).to_contain_text("System")
    assert page.errors == []


def test_the_login_page_has_the_theme_button(page):
    page.goto("/accounts/login/")
    toggle = page.get_by_test_id("theme-toggle")
    toggle.click()
    toggle.click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")


def test_the_choice_follows_the_user_to_another_browser(page, make_user, live_server_url):
    """Saved on the account (POST /accounts/theme/): a browser that never
    chose starts dark once the user signs in there."""
    page.emulate_media(color_scheme="light")
    user = make_user(username="tess", password=PASSWORD)
    log_in(page, "tess", PASSWORD)
    toggle = page.get_by_test_id("theme-toggle")
    toggle.click()
    toggle.click()
    expect(toggle).to_contain_text("Dark")

    def saved():
        user.refresh_from_db()
        return user.theme == "dark"

    eventually(saved, what="the choice saved on the account")
    other = page.context.browser.new_context(base_url=live_server_url, color_scheme="light")
    try:
        second = other.new_page()
        second.goto("/accounts/login/")
        expect(second.locator("html")).to_have_attribute("data-theme", "light")
        log_in(second, "tess", PASSWORD)
        expect(second.locator("html")).to_have_attribute("data-theme", "dark")
        expect(second.get_by_test_id("theme-toggle")).to_contain_text("Dark")
    finally:
        other.close()
    assert page.errors == []
