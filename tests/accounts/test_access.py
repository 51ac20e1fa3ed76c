import re

import pytest
from django.core import mail
from django.test import override_settings

from accounts.models import Role, User

pytestmark = pytest.mark.django_db


def test_signup_logs_in_and_opens_chat(client):
    response = client.post(
        "/accounts/signup/",
        {"username": "newbie", "email": "", "password1": "a-Strong-pass-123", "password2": "a-Strong-pass-123"},
    )
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get(username="newbie")
    assert user.role == Role.USER and user.is_approved
    assert client.get("/").status_code == 200


def test_signup_enforces_the_password_rules(client):
    response = client.post(
        "/accounts/signup/", {"username": "newbie", "email": "", "password1": "12345678", "password2": "12345678"}
    )
    assert response.status_code == 200 and "This password is too common." in response.content.decode()
    assert response["Cache-Control"].startswith("max-age=0") and "no-store" in response["Cache-Control"]
    assert not User.objects.filter(username="newbie").exists()


@override_settings(ACCOUNTS_ALLOW_SIGNUP=False)
def test_a_closed_site_takes_no_signups(client):
    assert client.get("/accounts/signup/").status_code == 404
    assert "Sign up" not in client.get("/accounts/login/").content.decode()


@override_settings(ACCOUNTS_REQUIRE_APPROVAL=True)
def test_pending_accounts_wait_for_an_admin(client, make_user):
    response = client.post(
        "/accounts/signup/", {"username": "newbie", "password1": "a-Strong-pass-123", "password2": "a-Strong-pass-123"}
    )
    assert response["Location"] == "/accounts/pending/"
    user = User.objects.get(username="newbie")
    assert not user.is_approved and user.role == Role.USER
    assert client.get("/")["Location"] == "/accounts/pending/"
    assert client.get("/api/conversations/").status_code == 403

    admin = make_user(username="root", role=Role.ADMIN)
    admin_client = client.__class__()
    admin_client.force_login(admin)
    assert admin_client.post(f"/accounts/users/{user.pk}/", {"is_approved": "1"}).status_code == 302
    user.refresh_from_db()
    assert user.is_approved
    assert client.get("/").status_code == 200


@override_settings(ACCOUNT_EMAIL_VERIFICATION="mandatory")
def test_mandatory_verification_signs_in_only_once_the_address_is_confirmed(client):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "newbie",
            "email": "new@example.com",
            "password1": "a-Strong-pass-123",
            "password2": "a-Strong-pass-123",
        },
    )
    assert response["Location"] == "/accounts/confirm-email/"
    assert client.get("/")["Location"].startswith("/accounts/login/")
    (message,) = mail.outbox
    link = re.search(r"http://testserver(/accounts/confirm-email/\S+/)", message.body).group(1)
    response = client.post(link)
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(
    "role,status", [(Role.USER, 403), (Role.ANNOTATOR, 403), (Role.MODERATOR, 403), (Role.ADMIN, 200)]
)
def test_user_management_is_for_admins_only(client, make_user, role, status):
    client.force_login(make_user(username=f"u-{role}", role=role))
    assert client.get("/accounts/users/").status_code == status


def test_a_user_cannot_promote_themselves(client, user):
    client.force_login(user)
    assert client.post(f"/accounts/users/{user.pk}/", {"role": "admin"}).status_code == 403
    user.refresh_from_db()
    assert user.role == Role.USER


@pytest.mark.parametrize("login", ["carol", "carol@example.com"], ids=["username", "email"])
def test_login_and_logout(client, make_user, login):
    make_user(username="carol", password="a-Strong-pass-123", email="carol@example.com")
    response = client.post("/accounts/login/", {"username": login, "password": "a-Strong-pass-123"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302


def test_a_wrong_password_says_so(client, make_user):
    make_user(username="carol", password="a-Strong-pass-123")
    response = client.post("/accounts/login/", {"username": "carol", "password": "wrong"})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert 'data-testid="login-errors"' in response.content.decode()
