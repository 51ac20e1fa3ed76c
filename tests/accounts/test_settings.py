"""A user's own settings page, and the admin's arena switch."""

import pytest

pytestmark = pytest.mark.django_db


def test_sharing_is_off_until_the_user_turns_it_on_and_off_again(client, user):
    assert not user.shares_chat_data
    client.force_login(user)
    page = client.get("/accounts/settings/").content.decode()
    assert "Share my prompts to improve the model" in page and "checked" not in page
    assert client.post("/accounts/settings/", {"shares_chat_data": "1"}).status_code == 302
    user.refresh_from_db()
    assert user.shares_chat_data
    assert "checked" in client.get("/accounts/settings/").content.decode()
    client.post("/accounts/settings/", {})
    user.refresh_from_db()
    assert not user.shares_chat_data


def test_settings_need_a_signed_in_user(client):
    response = client.get("/accounts/settings/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_settings_page_needs_csrf(user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post("/accounts/settings/", {"shares_chat_data": "1"}).status_code == 403
    user.refresh_from_db()
    assert not user.shares_chat_data


def test_only_admins_switch_the_arena_on(client, make_user):
    player = make_user(username="player")
    client.force_login(make_user(username="moderator", role="moderator"))
    assert client.post(f"/accounts/users/{player.pk}/", {"arena_enabled": "1"}).status_code == 403
    player.refresh_from_db()
    assert not player.arena_enabled


def test_arena_link_shows_for_enabled_users_only(client, make_user):
    client.force_login(make_user(username="plain"))
    assert b'data-testid="nav-arena"' not in client.get("/accounts/settings/").content
    client.force_login(make_user(username="player", arena_enabled=True))
    assert b'data-testid="nav-arena"' in client.get("/accounts/settings/").content
