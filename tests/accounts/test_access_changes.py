"""Bug 8: an admin cannot take away their own approval or admin role, nor
the last admin's, and every revoke or demotion is confirmed first."""

import pytest
from django.test import Client

from accounts.models import Role
from accounts.selectors import access_change_loss, access_change_refusal
from accounts.services import user_change_access
from core.errors import UserError

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(make_user):
    return make_user(username="boss", role=Role.ADMIN)


@pytest.fixture
def boss_client(boss):
    client = Client()
    client.force_login(boss)
    return client


@pytest.mark.parametrize("change", [{"is_approved": "0"}, {"role": "moderator"}, {"role": "user"}])
def test_an_admin_cannot_take_away_their_own_rights_even_with_another_admin(boss, boss_client, make_user, change):
    make_user(username="second", role=Role.ADMIN)
    response = boss_client.post(f"/accounts/users/{boss.pk}/", {**change, "confirmed": "1"}, follow=True)
    boss.refresh_from_db()
    assert boss.is_admin and boss.is_approved
    page = response.content.decode().replace("&#x27;", "'")
    assert "You cannot take away your own" in page and "ask another admin to do it" in page


def test_the_service_refuses_a_self_demotion_and_the_last_admins(boss, make_user):
    with pytest.raises(UserError, match="your own admin role"):
        user_change_access(actor=boss, user=boss, role=Role.USER)
    # The last admin is refused too: two admins demoting each other at once
    # (admins_lock orders them), the second finding its own account demoted
    # by the first; here an actor deactivated since its page loaded.
    assert access_change_refusal(actor=boss, user=boss, role=None, is_approved=False) == (
        "You cannot take away your own approval: ask another admin to do it."
    )
    ghost = make_user(username="ghost", role=Role.ADMIN, is_active=False)
    assert access_change_refusal(actor=ghost, user=boss, role=Role.USER, is_approved=None) == (
        "boss is the only admin: make another account admin first."
    )


def test_revoking_asks_first_and_changes_nothing_until_confirmed(boss_client, make_user):
    carol = make_user(username="carol")
    response = boss_client.post(f"/accounts/users/{carol.pk}/", {"is_approved": "0"})
    assert response.status_code == 200
    page = response.content.decode().replace("&#x27;", "'")
    assert "Revoke carol's approval" in page
    assert 'name="is_approved" value="0"' in page and 'name="confirmed" value="1"' in page
    carol.refresh_from_db()
    assert carol.is_approved

    assert boss_client.post(f"/accounts/users/{carol.pk}/", {"is_approved": "0", "confirmed": "1"}).status_code == 302
    carol.refresh_from_db()
    assert not carol.is_approved


def test_demoting_another_admin_asks_first(boss_client, make_user):
    second = make_user(username="second", role=Role.ADMIN)
    response = boss_client.post(f"/accounts/users/{second.pk}/", {"role": "annotator"})
    assert "Change second's role from Admin to Annotator." in response.content.decode().replace("&#x27;", "'")
    second.refresh_from_db()
    assert second.role == Role.ADMIN
    boss_client.post(f"/accounts/users/{second.pk}/", {"role": "annotator", "confirmed": "1"})
    second.refresh_from_db()
    assert second.role == Role.ANNOTATOR


def test_grants_need_no_confirmation(boss_client, make_user):
    carol = make_user(username="carol", is_approved=False)
    assert boss_client.post(f"/accounts/users/{carol.pk}/", {"is_approved": "1"}).status_code == 302
    assert boss_client.post(f"/accounts/users/{carol.pk}/", {"role": "moderator"}).status_code == 302
    carol.refresh_from_db()
    assert carol.is_approved and carol.role == Role.MODERATOR


def test_what_a_change_takes_away(make_user):
    moderator = make_user(username="mod", role=Role.MODERATOR)
    root = make_user(username="root", role=Role.USER, is_superuser=True)
    assert access_change_loss(user=moderator, role=Role.ANNOTATOR, is_approved=None) == (
        "Change mod's role from Moderator to Annotator."
    )
    assert access_change_loss(user=moderator, role=Role.ADMIN, is_approved=None) is None
    assert access_change_loss(user=moderator, role=None, is_approved=True) is None
    assert access_change_loss(user=root, role=Role.USER, is_approved=None) == "Change root's role from Admin to User."
