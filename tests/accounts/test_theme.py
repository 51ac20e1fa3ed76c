"""The theme saved on the account (accounts.views.theme_view): only the
signed-in user's own, only the three choices, CSRF-checked, and carried on
every page for static/js/theme.js."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_a_choice_is_saved_and_carried_on_the_next_page(client, make_user):
    user = make_user(username="tess")
    client.force_login(user)
    response = client.post("/accounts/theme/", {"theme": "dark"})
    assert response.status_code == 200 and response.json() == {"theme": "dark"}
    user.refresh_from_db()
    assert user.theme == "dark"
    assert 'data-theme-saved="dark"' in client.get("/accounts/settings/").content.decode()


def test_anything_else_is_refused_and_nothing_is_saved(client, make_user):
    user = make_user(username="tess")
    client.force_login(user)
    response = client.post("/accounts/theme/", {"theme": "purple"})
    assert response.status_code == 400 and response.json()["code"] == "invalid_theme"
    assert client.get("/accounts/theme/").status_code == 405
    user.refresh_from_db()
    assert user.theme == ""


def test_signed_out_pages_carry_no_saved_choice_and_cannot_save_one(client):
    page = client.get("/accounts/login/").content.decode()
    assert "data-theme-saved" not in page and "data-theme-url" not in page
    response = client.post("/accounts/theme/", {"theme": "dark"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_csrf_is_checked(make_user):
    user = make_user(username="tess")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post("/accounts/theme/", {"theme": "dark"}).status_code == 403
    user.refresh_from_db()
    assert user.theme == ""


def test_an_account_that_never_chose_leaves_each_browser_its_own(client, make_user):
    client.force_login(make_user(username="tess"))
    assert 'data-theme-saved=""' in client.get("/accounts/settings/").content.decode()
