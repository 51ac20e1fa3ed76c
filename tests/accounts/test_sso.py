"""Single sign-on through a real OpenID Connect provider (tests/oidc_provider/:
django-oauth-toolkit in a process of its own on loopback). Each sign-in goes
the whole way: allauth reads the provider's discovery document, sends the
browser to its authorize endpoint (PKCE), the user signs in and consents
there, and allauth trades the code at the token endpoint, checks the RS256
ID token against the provider's JWKS and reads userinfo. Only the browser is
played here, by the test client and `requests`; the browser test
(tests/browser/test_sso_ui.py) plays it with Chromium."""

from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import Client

from accounts.models import Role, User
from accounts.services import user_update_access

from ..helpers.sockets import open_socket
from ..oidc_provider.launch import PROVIDER_ID, ProviderUser, app_provider_settings, start_oidc_provider

pytestmark = pytest.mark.django_db(transaction=True)  # the socket checks run the consumer in threads of its own

CALLBACK = f"http://testserver/accounts/oidc/{PROVIDER_ID}/login/callback/"
IDP_USER = ProviderUser(username="sso-alice", password="idp-Pass-4821", email="alice@example.org")


@pytest.fixture(scope="module")
def provider_url(process_log_dir):
    process, url = start_oidc_provider(redirect_uris=[CALLBACK], user=IDP_USER, log_dir=process_log_dir)
    yield url
    process.stop()


@pytest.fixture(autouse=True)
def sso_configured(settings, provider_url):
    settings.SOCIALACCOUNT_PROVIDERS = {"openid_connect": app_provider_settings(provider_url)}
    settings.ACCOUNTS_REQUIRE_APPROVAL = True


class _Form(HTMLParser):
    """The first form of a page: its action and its inputs' values."""

    def __init__(self):
        super().__init__()
        self.action, self.fields = None, {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = attrs.get("action") or ""
        elif tag == "input" and attrs.get("name") and attrs.get("type") != "submit":
            self.fields[attrs["name"]] = attrs.get("value") or ""


def _form(html: str) -> dict:
    parser = _Form()
    parser.feed(html)
    return parser.fields


def sso_round_trip(client: Client, provider_url: str, *, process: str = "login"):
    """The browser's part: the app's button, the provider's sign-in and
    consent pages, back to the app's callback. The app's last answer."""
    start = client.post(f"/accounts/oidc/{PROVIDER_ID}/login/", {"process": process})
    assert start.status_code == 302, start.content[:500]
    authorize = start["Location"]
    assert authorize.startswith(f"{provider_url}/authorize/?")
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and set(query["scope"][0].split()) == {
        "openid",
        "profile",
        "email",
    }

    idp = requests.Session()
    sign_in = idp.get(authorize, timeout=10)  # the provider asks who this is first
    assert urlsplit(sign_in.url).path == "/login/"
    consent = idp.post(
        sign_in.url,
        data=_form(sign_in.text) | {"username": IDP_USER.username, "password": IDP_USER.password},
        timeout=10,
    )
    assert urlsplit(consent.url).path == "/authorize/", consent.text[:500]
    back = idp.post(consent.url, data=_form(consent.text) | {"allow": "Authorize"}, allow_redirects=False, timeout=10)
    assert back.status_code == 302, back.text[:500]
    callback = urlsplit(back.headers["Location"])
    assert f"http://{callback.netloc}{callback.path}" == CALLBACK and "code=" in callback.query
    return client.get(f"{callback.path}?{callback.query}")


async def _chat_socket_answer(cookie: str) -> dict | int:
    """The chat socket's first frame for this session, or its close code."""
    communicator, first = await open_socket(cookie)
    if isinstance(first, dict):
        await communicator.disconnect()
    return first


def test_a_new_account_from_the_provider_waits_for_approval(provider_url, make_user):
    client = Client()
    response = sso_round_trip(client, provider_url)
    assert response.status_code == 302 and response["Location"] == "/accounts/pending/"

    user = User.objects.get(socialaccount__provider=PROVIDER_ID)
    assert (user.username, user.email, user.role, user.is_approved) == ("sso-alice", IDP_USER.email, Role.USER, False)
    assert not user.has_usable_password()
    assert EmailAddress.objects.get(user=user).verified, "the provider vouched for the address"
    assert client.get("/")["Location"] == "/accounts/pending/"
    admin = Client()
    admin.force_login(make_user(username="root", role=Role.ADMIN))
    users_page = admin.get("/accounts/users/").content.decode()
    assert f'<small data-testid="sso-of-sso-alice">via {PROVIDER_ID}</small>' in users_page

    # The chat socket refuses the account as it refuses any account waiting.
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert async_to_sync(_chat_socket_answer)(cookie) == 4401
    user_update_access(user=user, is_approved=True)
    assert async_to_sync(_chat_socket_answer)(cookie)["type"] == "ready"


def test_a_verified_address_in_an_approved_domain_skips_the_wait(provider_url, settings):
    settings.ACCOUNTS_AUTO_APPROVE_EMAIL_DOMAINS = ["example.org"]
    client = Client()
    response = sso_round_trip(client, provider_url)
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get(socialaccount__provider=PROVIDER_ID)
    assert user.is_approved and user.role == Role.USER
    assert client.get("/").status_code == 200


def test_a_closed_site_takes_no_new_account_from_the_provider(provider_url, settings):
    settings.ACCOUNTS_ALLOW_SIGNUP = False
    response = sso_round_trip(Client(), provider_url)
    assert response.status_code == 200 and b'data-testid="signup-closed"' in response.content
    assert not User.objects.exists()


def test_an_account_connects_the_provider_from_its_settings_and_signs_in_with_it(provider_url, make_user):
    alice = make_user(username="alice", email="alice@elsewhere.example", role=Role.ANNOTATOR)
    client = Client()
    client.force_login(alice)
    connections = client.get("/accounts/3rdparty/").content.decode()
    assert 'data-testid="sso-none"' in connections and f'data-testid="sso-{PROVIDER_ID}"' in connections
    response = sso_round_trip(client, provider_url, process="connect")
    assert response.status_code == 302 and response["Location"] == "/accounts/3rdparty/"
    assert SocialAccount.objects.get(provider=PROVIDER_ID).user == alice

    fresh = Client()
    response = sso_round_trip(fresh, provider_url)
    assert response.status_code == 302 and response["Location"] == "/"
    assert fresh.session["_auth_user_id"] == str(alice.pk)
    assert User.objects.count() == 1, "no second account"
    alice.refresh_from_db()
    assert alice.role == Role.ANNOTATOR and alice.is_approved


def test_a_closed_account_cannot_sign_in_through_the_provider(provider_url, make_user):
    alice = make_user(username="alice")
    SocialAccount.objects.create(user=alice, provider=PROVIDER_ID, uid="1")  # the provider's only user is its first
    alice.is_active = False
    alice.save()
    client = Client()
    response = sso_round_trip(client, provider_url)
    assert response["Location"] == "/accounts/inactive/"
    assert "_auth_user_id" not in client.session


def test_an_address_another_account_has_is_not_taken_over(provider_url, make_user):
    """The provider's address belongs to an existing account: no second
    account gets it, and the existing one is not signed in on the provider's
    word; the person is asked to sign in and connect the provider instead."""
    alice = make_user(username="alice", email=IDP_USER.email)
    client = Client()
    response = sso_round_trip(client, provider_url)
    assert response.status_code == 302 and response["Location"] == "/accounts/3rdparty/signup/"
    assert b'value="alice@example.org"' in client.get(response["Location"]).content
    page = client.post(response["Location"], {"username": "sso-alice", "email": IDP_USER.email}).content.decode()
    assert 'data-testid="sso-signup-email-errors"' in page
    assert "Please sign in to that account first, then connect your Test IdP account." in page
    assert "_auth_user_id" not in client.session
    assert list(User.objects.all()) == [alice] and not SocialAccount.objects.exists()
