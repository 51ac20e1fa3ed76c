"""Account basics: changing the password from the settings page, and
resetting a forgotten one by email (allauth's views in the site's look, the
mail backend from the environment)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.test import Client

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def test_the_settings_page_links_to_changing_the_password(client, user):
    client.force_login(user)
    page = client.get("/accounts/settings/").content.decode()
    assert 'href="/accounts/password/change/"' in page
    # The address the page had before allauth sends people on.
    assert client.get("/accounts/password/")["Location"] == "/accounts/password/change/"


def test_changing_the_password_keeps_this_session(client, user):
    client.force_login(user)
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": "a-Strong-pass-123", "password1": "another-Pass-456", "password2": "another-Pass-456"},
    )
    assert response["Location"] == "/accounts/password/change/"
    assert client.get("/").status_code == 200
    assert Client().login(username="alice", password="another-Pass-456")


def test_a_wrong_old_password_changes_nothing(client, user):
    client.force_login(user)
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": "not-it", "password1": "another-Pass-456", "password2": "another-Pass-456"},
    )
    assert (
        response.status_code == 200 and 'data-testid="password-change-oldpassword-errors"' in response.content.decode()
    )
    assert Client().login(username="alice", password="a-Strong-pass-123")


def test_a_forgotten_password_is_reset_by_the_emailed_link(make_user):
    make_user(username="alice", email="alice@example.com")
    client = Client()
    assert 'href="/accounts/password/reset/"' in client.get("/accounts/login/").content.decode()
    assert client.get("/accounts/password-reset/")["Location"] == "/accounts/password/reset/"
    response = client.post("/accounts/password/reset/", {"email": "alice@example.com"})
    assert response["Location"] == "/accounts/password/reset/done/"
    (message,) = mail.outbox
    assert message.to == ["alice@example.com"] and message.subject == "[Chatsite] Reset your password"
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+/)", message.body).group(1)

    form = client.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(form.redirect_chain[-1][0], {"password1": "brand-New-789", "password2": "brand-New-789"})
    assert done["Location"] == "/accounts/password/reset/key/done/"
    assert Client().login(username="alice", password="brand-New-789")
    assert "no longer works" in client.get(link, follow=True).content.decode()


def test_no_email_goes_to_an_unknown_or_closed_account(make_user):
    make_user(username="gone", email="gone@example.com", is_active=False)
    for email in ("gone@example.com", "nobody@example.com"):
        response = Client().post("/accounts/password/reset/", {"email": email})
        assert response["Location"] == "/accounts/password/reset/done/"  # says nothing of who exists
    assert mail.outbox == []


def _email_settings(**env) -> list[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("EMAIL_")}
    environment.update(env)
    code = (
        "from chatsite import settings as s; "
        "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS, s.EMAIL_HOST_PASSWORD)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    )
    return result.stdout.split()


def test_reset_emails_go_to_the_console_unless_the_environment_names_smtp():
    assert _email_settings()[0] == "django.core.mail.backends.console.EmailBackend"
    assert _email_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="smtp.example.com",
        EMAIL_PORT="587",
        EMAIL_USE_TLS="true",
        EMAIL_HOST_PASSWORD="from-the-env",
    ) == ["django.core.mail.backends.smtp.EmailBackend", "smtp.example.com", "587", "True", "from-the-env"]
