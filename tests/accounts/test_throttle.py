"""The sign-in throttle: failed sign-ins per account name from one address
and per address, counted in the tests' Redis, on the login page and the
admin's alike. It must slow guessing without handing an attacker a way to
lock somebody else out."""

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.core.handlers.asgi import ASGIHandler
from django.test import Client

from accounts import throttle
from core.proxy import behind_trusted_proxies
from core.redis_client import redis_client

pytestmark = pytest.mark.django_db

PASSWORD = "a-Strong-pass-123"


@pytest.fixture(autouse=True)
def clean_counts(settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    settings.LOGIN_FAILURES_PER_ADDRESS = 5
    settings.LOGIN_RETRY_MAX_SECONDS = 900

    def clear():
        keys = list(redis_client().scan_iter("accounts:login-*"))
        if keys:
            redis_client().delete(*keys)

    clear()
    yield
    clear()


def _login(username, password, path="/accounts/login/", address="10.0.0.1"):
    client = Client(REMOTE_ADDR=address)
    return client, client.post(path, {"username": username, "password": password})


def _time_passes():
    """Every wait ends (the counts stay): what a clock would do, without one."""
    keys = list(redis_client().scan_iter("accounts:login-wait:*"))
    if keys:
        redis_client().delete(*keys)


def test_an_attackers_failures_do_not_stop_the_owner_elsewhere(user):
    for _ in range(10):
        _login("alice", "wrong", address="203.0.113.7")
    client, response = _login("alice", PASSWORD, address="198.51.100.2")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_the_guessing_address_waits_even_with_the_right_password(user):
    """Formerly the account itself was refused from everywhere. Now only the
    account from the address that failed waits: were the right password let
    through there, a guesser would learn it despite the wait."""
    for attempt in range(3):
        _, response = _login("alice", "wrong")
        # The failure that reaches the limit already hears how long to wait.
        assert response.status_code == (429 if attempt == 2 else 200)
    assert "Too many failed sign-ins. Try again in 1 minute." in response.content.decode()
    for _ in range(3):
        client, response = _login("alice", PASSWORD)
        assert response.status_code == 429
        assert "_auth_user_id" not in client.session
    # A refused try checks no password: it is not counted (and so stores nothing).
    assert "Try again in 1 minute." in response.content.decode()
    _time_passes()
    client, response = _login("alice", PASSWORD)
    assert response.status_code == 302


def test_each_further_failure_doubles_the_wait_up_to_the_longest(user):
    waits = []
    for _ in range(3):
        _login("alice", "wrong")
    waits.append(throttle.login_retry_after(username="alice", address="10.0.0.1"))
    for _ in range(6):
        _time_passes()
        _login("alice", "wrong")
        waits.append(throttle.login_retry_after(username="alice", address="10.0.0.1"))
    assert [round(wait / 60) for wait in waits] == [1, 2, 4, 8, 15, 15, 15]


def test_other_accounts_still_sign_in_and_success_clears_the_count(make_user):
    make_user(username="bob")
    make_user(username="carol")
    for _ in range(2):
        _login("bob", "wrong")
    _, response = _login("bob", PASSWORD)
    assert response.status_code == 302
    for _ in range(2):  # the count restarted: two more failures are not yet the limit of 3
        _login("bob", "wrong")
    _, response = _login("bob", PASSWORD)
    assert response.status_code == 302
    _, response = _login("carol", PASSWORD, address="10.0.0.4")
    assert response.status_code == 302


def test_refused_tries_leave_no_count_behind(user):
    for n in range(20):
        _login(f"made-up-{n}", "wrong", address="10.0.0.9")
    assert len(list(redis_client().scan_iter("accounts:login-failures:account:*"))) == 5


def test_an_address_is_refused_after_failures_across_accounts(make_user):
    make_user(username="dave")
    for name in ("x1", "x2", "x3", "x4", "x5"):
        _login(name, "wrong", address="10.0.0.9")
    _, response = _login("dave", PASSWORD, address="10.0.0.9")
    assert response.status_code == 429
    _, response = _login("dave", PASSWORD, address="10.0.0.10")
    assert response.status_code == 302


def test_an_ipv6_network_counts_as_one_address(user):
    """Anyone with an IPv6 /64 has 2**64 addresses to rotate through."""
    for host in range(1, 6):
        _login(f"x{host}", "wrong", address=f"2001:db8:1:2::{host}")
    _, response = _login("alice", PASSWORD, address="2001:db8:1:2:ffff::1")
    assert response.status_code == 429
    _, response = _login("alice", PASSWORD, address="2001:db8:1:3::1")
    assert response.status_code == 302


def test_the_admin_login_is_limited_too(make_user):
    make_user(username="root", role="admin", is_staff=True, is_superuser=True)
    for _ in range(3):
        _login("root", "wrong", path="/admin/login/")
    client, response = _login("root", PASSWORD, path="/admin/login/")
    assert response.status_code == 200  # the admin's form says no; the session stays anonymous
    assert "_auth_user_id" not in client.session
    client, response = _login("root", PASSWORD, path="/admin/login/", address="10.0.0.2")
    assert response.status_code == 302


def test_sign_in_works_while_redis_is_down(user, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    client, response = _login("alice", PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


# --- Behind the load balancer: every request comes from its address ---------

PROXY = "10.9.9.9"
CSRF = "c" * 32  # an unmasked CSRF secret, sent as both cookie and field


def _asgi_login(app, username, password, *, peer, forwarded_for=None) -> int:
    """POSTs the login form through the ASGI stack as a server would hand
    it over; the response's status."""
    body = f"username={username}&password={password}&csrfmiddlewaretoken={CSRF}".encode()
    headers = [
        (b"host", b"localhost"),
        (b"content-type", b"application/x-www-form-urlencoded"),
        (b"content-length", str(len(body)).encode()),
        (b"cookie", f"csrftoken={CSRF}".encode()),
    ]
    if forwarded_for:
        headers.append((b"x-forwarded-for", forwarded_for.encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/accounts/login/",
        "raw_path": b"/accounts/login/",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": (peer, 40000),
        "server": ("localhost", 8000),
    }

    async def run():
        communicator = ApplicationCommunicator(app, scope)
        await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
        start = await communicator.receive_output(10)
        while (await communicator.receive_output(10)).get("more_body"):
            pass
        # Until the handler ends: it closes the request's database connection
        # last (request_finished), and a handler cut off with the loop would
        # keep that connection out of the pool for the rest of the run.
        await communicator.wait(10)
        return start["status"]

    return async_to_sync(run)()


@pytest.mark.django_db(transaction=True)  # Django serves each ASGI request from a thread of its own
def test_behind_the_trusted_proxy_others_still_sign_in(settings, make_user):
    settings.TRUSTED_PROXIES = [PROXY]
    app = behind_trusted_proxies(ASGIHandler())
    make_user(username="alice")
    make_user(username="bob")
    for name in ("alice", "alice", "alice", "x1", "x2", "x3"):
        _asgi_login(app, name, "wrong", peer=PROXY, forwarded_for="203.0.113.7")
    assert _asgi_login(app, "alice", PASSWORD, peer=PROXY, forwarded_for="203.0.113.7") == 429
    assert _asgi_login(app, "alice", PASSWORD, peer=PROXY, forwarded_for="198.51.100.2") == 302
    assert _asgi_login(app, "bob", PASSWORD, peer=PROXY, forwarded_for="198.51.100.3") == 302


@pytest.mark.django_db(transaction=True)
def test_a_forwarded_address_from_an_untrusted_peer_is_ignored(settings, make_user):
    """Else a guesser would name a fresh address in each request."""
    settings.TRUSTED_PROXIES = [PROXY]
    app = behind_trusted_proxies(ASGIHandler())
    make_user(username="alice")
    for n in range(3):
        _asgi_login(app, "alice", "wrong", peer="203.0.113.7", forwarded_for=f"198.51.100.{n}")
    assert _asgi_login(app, "alice", PASSWORD, peer="203.0.113.7", forwarded_for="198.51.100.99") == 429
