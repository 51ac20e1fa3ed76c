"""Screenshots of the pages issues 17 and 18 changed, at a desktop and a phone size,
for docs/screenshots/ (linked from the README). Not a test: run it with
scripts/screenshots.sh, which names this file to pytest so that it gets the
live stack and the browser of tests/browser."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.models import User
from usage.models import DailyUsage

from .conftest import log_in
from .test_pages import _SETTLE, PASSWORD, site  # noqa: F401 (site: a fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.integration]

OUT = Path(os.environ.get("SCREENSHOTS_DIR", Path(__file__).resolve().parents[2] / "docs" / "screenshots"))
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
# (file name, who looks, where)
PAGES = [
    ("login", None, "/accounts/login/"),
    ("signup", None, "/accounts/signup/"),
    ("chat", "user", "/"),
    ("settings", "user", "/accounts/settings/"),
    ("single-sign-on", "user", "/accounts/3rdparty/"),
    ("my-reports", "user", "/accounts/data/reports/"),
    ("import-chats", "user", "/accounts/data/import/"),
    ("labeling", "annotator", "/labeling/"),
    ("snapshots", "admin", "/labeling/admin/snapshots/"),
    ("annotators", "admin", "/labeling/admin/annotators/"),
    ("gold", "admin", "/labeling/admin/gold/"),
    ("answer-tasks", "admin", "/labeling/admin/answer-tasks/"),
    ("jobs", "admin", "/jobs/"),
    ("models", "admin", "/models/"),
    ("evaluation-sets", "admin", "/jobs/evaluation-sets/"),
    ("feedback", "admin", "/feedback/"),
    ("usage", "admin", "/usage/"),
    ("moderation-dashboard", "admin", "/moderation/dashboard/"),
]


def shoot(page, name: str) -> None:
    page.evaluate(_SETTLE)
    page.screenshot(path=str(OUT / f"{name}.png"))


@pytest.mark.parametrize("size", SIZES)
def test_take_screenshots(page, site, size):  # noqa: F811
    OUT.mkdir(parents=True, exist_ok=True)
    for days_ago, tokens in enumerate((1800, 600, 2400, 1200)):
        DailyUsage.objects.create(
            user=User.objects.get(username="user"),
            day=timezone.now().date() - timedelta(days=days_ago),
            answers=3,
            prompt_tokens=tokens,
            completion_tokens=tokens // 2,
        )
    page.set_viewport_size(SIZES[size])
    signed_in = None
    for name, role, url in PAGES:
        if role != signed_in:
            page.context.clear_cookies()
            if role is not None:
                log_in(page, role, PASSWORD)
            signed_in = role
        page.goto(url)
        shoot(page, f"{name}-{size}")
    if size == "phone":
        page.get_by_test_id("nav-toggle").click()
        page.get_by_test_id("navmenu-admin").click()
        shoot(page, "menu-phone")
    else:
        page.get_by_test_id("navmenu-data").click()
        shoot(page, "menu-desktop")
