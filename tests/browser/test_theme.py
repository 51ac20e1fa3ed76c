"""The theme button in the top bar (static/js/theme.js): System, Light,
Dark in turn, applied to <html data-theme> before the first paint (a
classic script in <head>), remembered across reloads, on a desk-sized
window and on a phone."""

import pytest
from playwright.sync_api import expect

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
