"""The chat page and the close codes of core/user_sockets.py, in a real
browser against the live stack: refused for too many sockets, it says why
and waits instead of reconnecting at once; closed because the account
changed, it reconnects and the handshake decides again."""

import json
import time

import pytest
from playwright.sync_api import expect
from websockets.sync.client import connect as ws_connect

from accounts.services import user_update_access

from ..conftest import session_cookie
from .conftest import log_in, outside_the_page_loop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.integration]

PASSWORD = "a-Strong-pass-123"
LIVE_CAP = 10  # the live server's WEBSOCKET_MAX_PER_USER: the default


def test_the_chat_page_says_why_it_is_refused_and_reconnects_when_the_account_changes(page, make_user, live_server_url):
    user = make_user(username="tabby", password=PASSWORD)
    headers = {"Cookie": f"sessionid={session_cookie(user)}", "Origin": live_server_url}
    ws_url = live_server_url.replace("http://", "ws://") + "/ws/chat/"
    others = []
    for _ in range(LIVE_CAP):
        others.append(ws_connect(ws_url, additional_headers=headers, open_timeout=30))
        assert json.loads(others[-1].recv(timeout=30))["type"] == "ready"
    attempts = []
    page.on("websocket", lambda socket: attempts.append(socket.url))
    banner = page.locator("#conn-banner")
    try:
        log_in(page, "tabby", PASSWORD)
        expect(banner).to_contain_text("Too many open connections")
        expect(banner).to_contain_text("Reconnecting in")
        time.sleep(3)
        assert len(attempts) == 1, "refused for too many sockets, the page waits before trying again"
        others.pop().close()
        banner.get_by_role("button", name="Retry now").click()
        expect(banner).to_be_hidden()
    finally:
        for socket in others:
            socket.close()

    # Even a grant: the handshake decides again.
    outside_the_page_loop(lambda: user_update_access(user=user, arena_enabled=True))
    deadline = time.monotonic() + 20
    while len(attempts) < 3 and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert len(attempts) == 3, "closed because the account changed, the page reconnected"
    expect(banner).to_be_hidden()

    def ban():
        user.is_active = False
        user.save()

    outside_the_page_loop(ban)
    expect(banner).to_contain_text("Your session has ended")
