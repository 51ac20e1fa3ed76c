"""The Users page: what an admin sets there is what the account can do."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(make_user):
    client = Client()
    client.force_login(make_user(username="boss", role="admin"))
    return client


def test_demoting_a_superuser_takes_their_admin_rights_away(admin_client, make_user):
    """`has_role` honours is_superuser, so changing the role alone left the
    bootstrap `admin` (a superuser) with every power while the page said User."""
    root = make_user(username="root", role="admin", is_staff=True, is_superuser=True)
    response = admin_client.post(f"/accounts/users/{root.pk}/", {"role": "user", "confirmed": "1"})
    assert response.status_code == 302
    root.refresh_from_db()
    assert (root.role, root.is_superuser, root.is_staff, root.is_admin) == ("user", False, False, False)
    assert Client().login(username="root", password="a-Strong-pass-123")
    assert Client(REMOTE_ADDR="10.0.0.2").get("/admin/").status_code == 302


def test_the_users_page_shows_django_admin_access(admin_client, make_user):
    make_user(username="root", role="admin", is_staff=True, is_superuser=True)
    make_user(username="helper", role="moderator", is_staff=True)
    page = admin_client.get("/accounts/users/").content.decode()
    assert 'data-testid="django-admin-root">superuser' in page
    assert 'data-testid="django-admin-helper">staff' in page
    assert 'data-testid="django-admin-boss">no' in page


def test_the_last_admin_cannot_be_demoted(make_user):
    """Else nobody would be left to undo it."""
    boss = make_user(username="boss", role="admin")
    client = Client()
    client.force_login(boss)
    client.post(f"/accounts/users/{boss.pk}/", {"role": "user", "confirmed": "1"})
    client.post(f"/accounts/users/{boss.pk}/", {"is_approved": "0", "confirmed": "1"})
    boss.refresh_from_db()
    assert boss.is_admin
    assert "You cannot take away your own" in client.get("/accounts/users/").content.decode()


def test_an_admin_can_be_demoted_while_another_remains(admin_client, make_user):
    second = make_user(username="second", role="admin")
    admin_client.post(f"/accounts/users/{second.pk}/", {"role": "moderator", "confirmed": "1"})
    second.refresh_from_db()
    assert second.role == "moderator" and not second.is_admin
