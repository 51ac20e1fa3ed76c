import os
from concurrent.futures import ThreadPoolExecutor

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def page(live_server_url, monkeypatch):
    """A fresh Debian chromium, driven by Playwright (no browser is
    downloaded), for one test. Playwright's sync API keeps an event loop
    running in this thread, so the test's own ORM calls are allowed here
    and nowhere else."""
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"), args=CHROMIUM_ARGS
        )
        context = browser.new_context(base_url=live_server_url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(20_000)
        page = context.new_page()
        page.dialogs = []
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        # What the Content-Security-Policy (core/csp.py) blocks breaks
        # the page as surely as an exception does.
        page.on(
            "console",
            lambda message: (
                page.errors.append(message.text)
                if message.type == "error" and "Content Security Policy" in message.text
                else None
            ),
        )
        yield page
        context.close()
        browser.close()


def log_in(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/")


def outside_the_page_loop(call, *args):
    """Runs `call(*args)` where a view or a worker would, and returns what
    it returns: Playwright's sync API keeps an event loop running in the
    test's thread, and a blocking channel-layer send refuses to run beside
    one (core/broadcast.py)."""
    from django.db import connection

    def run():
        try:
            return call(*args)
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result(timeout=60)
