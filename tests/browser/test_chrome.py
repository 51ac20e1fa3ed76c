"""The page chrome in a real browser (issue 17): the top bar folds into a
menu on a phone and no page any role reaches is wider than the phone
(bug 2); the admin's bar fits one line on a desktop (bug 3); the "New job"
link is a button (bug 9); the usage cards keep apart (bug 10); the usage
and moderation charts have axes."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role
from usage.models import DailyUsage

from .conftest import log_in
from .test_pages import _SETTLE, PASSWORD, PageWatch, site  # noqa: F401 (site: a fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.integration]

PHONE = {"width": 390, "height": 844}
_WIDTHS = "() => [document.documentElement.scrollWidth, innerWidth]"


class WidthWatch(PageWatch):
    """Crawls the navigation like test_pages.py (which checks the scripts
    and the policy), noting only the pages wider than the screen."""

    def visit(self, url: str) -> None:
        response = self.page.goto(url)
        assert response is not None and response.ok, f"{url}: answered {response and response.status}"
        self.page.evaluate(_SETTLE)
        scroll_width, inner_width = self.page.evaluate(_WIDTHS)
        if scroll_width > inner_width:
            self.findings.append(f"{url}: {scroll_width} px wide on a {inner_width} px screen")


@pytest.mark.parametrize("role", ["user", "annotator", "moderator", "admin"])
def test_on_a_phone_no_page_a_role_reaches_is_wider_than_the_screen(page, site, role):  # noqa: F811
    page.set_viewport_size(PHONE)
    watch = WidthWatch(page)
    log_in(page, role, PASSWORD)
    visited = watch.crawl(site[role])
    assert len(visited) > 1
    assert not watch.findings, f"{len(watch.findings)} findings on {len(visited)} pages:\n" + "\n".join(watch.findings)


def test_on_a_phone_the_navigation_folds_behind_a_menu_button_that_works_by_keyboard(page, make_user):
    make_user(username="boss", password=PASSWORD, role=Role.ADMIN)
    page.set_viewport_size(PHONE)
    log_in(page, "boss", PASSWORD)
    toggle = page.get_by_test_id("nav-toggle")
    logout = page.get_by_test_id("logout")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.locator(".topnav")).to_be_hidden()

    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("link", name="API keys")).to_be_visible()
    expect(logout).to_be_visible()
    expect(page.locator(".account .role")).to_be_visible()
    for element in (logout, page.locator(".account .role"), page.get_by_role("link", name="API keys")):
        box = element.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    # "API keys" stays on one line.
    assert page.get_by_role("link", name="API keys").bounding_box()["height"] < 40

    # A group inside the menu opens by keyboard too, and Escape closes the innermost first.
    admin = page.get_by_test_id("navmenu-admin")
    admin.focus()
    page.keyboard.press("Space")
    expect(page.get_by_role("link", name="Users")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("link", name="Users")).to_be_hidden()
    expect(admin).to_be_focused()
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    expect(logout).to_be_hidden()
    assert not page.errors


def test_on_a_phone_the_closed_chat_sidebar_casts_no_shadow_strip(page, make_user):
    make_user(username="reader", password=PASSWORD)
    page.set_viewport_size(PHONE)
    log_in(page, "reader", PASSWORD)
    shadow = page.locator(".sidebar").evaluate("(el) => getComputedStyle(el).boxShadow")
    assert shadow == "none"


@pytest.mark.parametrize("role", ["user", "annotator", "moderator", "admin"])
def test_on_a_desktop_the_top_bar_fits_one_line(page, make_user, role):
    make_user(username=role, password=PASSWORD, role=role, arena_enabled=True)
    log_in(page, role, PASSWORD)
    bar = page.locator("header.topbar").bounding_box()
    assert bar["height"] <= 53
    expect(page.get_by_test_id("nav-toggle")).to_be_hidden()
    middles = page.locator(".topnav > a, .topnav > .navmenu > button").evaluate_all(
        "(items) => items.map((el) => el.getBoundingClientRect()).map((box) => Math.round(box.top + box.height / 2))"
    )
    assert len(set(middles)) == 1, middles
    logout = page.get_by_test_id("logout").bounding_box()
    assert logout["x"] + logout["width"] <= 1280
    assert page.evaluate(_WIDTHS)[0] <= 1280


def test_the_admin_reaches_the_grouped_links_from_their_menus(page, make_user):
    make_user(username="boss", password=PASSWORD, role=Role.ADMIN)
    log_in(page, "boss", PASSWORD)
    data = page.get_by_test_id("navmenu-data")
    datasets = page.get_by_test_id("nav-datasets")
    expect(datasets).to_be_hidden()
    data.focus()
    page.keyboard.press("Enter")
    expect(data).to_have_attribute("aria-expanded", "true")
    expect(datasets).to_be_visible()
    # One menu at a time; a click elsewhere closes it.
    page.get_by_test_id("navmenu-admin").click()
    expect(datasets).to_be_hidden()
    expect(data).to_have_attribute("aria-expanded", "false")
    users = page.locator(".topnav").get_by_role("link", name="Users")
    expect(users).to_be_visible()
    page.locator("main").click(position={"x": 5, "y": 5})
    expect(users).to_be_hidden()
    page.get_by_test_id("navmenu-admin").click()
    page.locator(".topnav").get_by_role("link", name="Usage").click()
    page.wait_for_url("**/usage/")
    assert not page.errors


def test_the_new_job_link_is_a_button(page, make_user):
    make_user(username="boss", password=PASSWORD, role=Role.ADMIN)
    log_in(page, "boss", PASSWORD)
    page.goto("/jobs/")
    style = page.get_by_test_id("new-job").evaluate(
        "(el) => { const s = getComputedStyle(el); return [s.display, s.paddingLeft, s.borderTopLeftRadius]; }"
    )
    assert style[0] == "inline-flex" and style[1] != "0px" and style[2] != "0px", style


@pytest.fixture
def usage_day(make_user):
    user = make_user(username="talker", password=PASSWORD)
    DailyUsage.objects.create(
        user=user, day=timezone.now().date(), answers=3, prompt_tokens=1200, completion_tokens=800
    )


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_the_usage_cards_keep_apart_and_the_chart_has_axes(page, make_user, usage_day, viewport):
    make_user(username="boss", password=PASSWORD, role=Role.ADMIN)
    if viewport:
        page.set_viewport_size(viewport)
    log_in(page, "boss", PASSWORD)
    page.goto("/usage/")
    boxes = [card.bounding_box() for card in page.locator("main .card").all()]
    assert len(boxes) == 3
    for upper, lower in zip(boxes, boxes[1:], strict=False):
        assert lower["y"] - (upper["y"] + upper["height"]) >= 12
    chart = page.locator("svg.usage-chart")
    expect(chart.locator(".axis-y text").first).to_have_text("2,000")
    expect(chart.locator(".axis-y text").last).to_have_text("0")
    expect(chart.locator(".axis-x text").first).to_be_visible()
    assert page.evaluate(_WIDTHS)[0] <= page.evaluate("innerWidth")


def test_the_moderation_dashboard_chart_has_axes(page, make_user):
    make_user(username="boss", password=PASSWORD, role=Role.ADMIN)
    log_in(page, "boss", PASSWORD)
    page.goto("/moderation/dashboard/")
    chart = page.get_by_test_id("flag-rate-chart")
    expect(chart.locator(".bar-axis")).to_be_visible()
    expect(chart.locator(".bar-axis-label").first).to_be_visible()
    expect(chart.locator(".bar-label").first).to_be_visible()
