"""The sign-in throttle: failed sign-ins per account name and per address,
counted in the tests' Redis, on the login page and the admin's alike."""
import pytest
from django.test import Client

from chat.runtime import redis_client

pytestmark = pytest.mark.django_db

PASSWORD = "a-Strong-pass-123"


@pytest.fixture(autouse=True)
def clean_counts(settings):
    settings.LOGIN_FAILURES_PER_USERNAME = 3
    settings.LOGIN_FAILURES_PER_ADDRESS = 5

    def clear():
        keys = list(redis_client().scan_iter("accounts:login-failures:*"))
        if keys:
            redis_client().delete(*keys)

    clear()
    yield
    clear()


def _login(username, password, path="/accounts/login/", address="10.0.0.1"):
    client = Client(REMOTE_ADDR=address)
    return client, client.post(path, {"username": username, "password": password})


def test_an_account_is_refused_after_its_failures_even_with_the_right_password(user):
    for attempt in range(3):
        _, response = _login("alice", "wrong")
        # The failure that reaches the limit already hears how long to wait.
        assert response.status_code == (429 if attempt == 2 else 200)
    client, response = _login("alice", PASSWORD, address="10.0.0.2")
    assert response.status_code == 429
    assert "Too many failed sign-ins. Try again in 15 minutes." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_other_accounts_still_sign_in_and_success_clears_the_count(make_user):
    make_user(username="bob")
    make_user(username="carol")
    for _ in range(2):
        _login("bob", "wrong")
    _, response = _login("bob", PASSWORD)
    assert response.status_code == 302
    for _ in range(2):  # the count restarted: two more failures are not yet the limit of 3
        _login("bob", "wrong", address="10.0.0.3")
    _, response = _login("bob", PASSWORD, address="10.0.0.3")
    assert response.status_code == 302
    _, response = _login("carol", PASSWORD, address="10.0.0.4")
    assert response.status_code == 302


def test_an_address_is_refused_after_failures_across_accounts(make_user):
    make_user(username="dave")
    for name in ("x1", "x2", "x3", "x4", "x5"):
        _login(name, "wrong", address="10.0.0.9")
    _, response = _login("dave", PASSWORD, address="10.0.0.9")
    assert response.status_code == 429
    _, response = _login("dave", PASSWORD, address="10.0.0.10")
    assert response.status_code == 302


def test_the_admin_login_is_limited_too(make_user):
    make_user(username="root", role="admin", is_staff=True, is_superuser=True)
    for _ in range(3):
        _login("root", "wrong", path="/admin/login/")
    client, response = _login("root", PASSWORD, path="/admin/login/")
    assert response.status_code == 200  # the admin's form says no; the session stays anonymous
    assert "_auth_user_id" not in client.session


def test_sign_in_works_while_redis_is_down(user, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    client, response = _login("alice", PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
