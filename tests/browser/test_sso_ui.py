"""Single sign-on in a real browser, through a real OpenID Connect provider
on loopback (tests/oidc_provider/): "Sign in with Test IdP" on the login
page, the provider's own sign-in and consent pages, and back to the app,
signed in. The app runs as deployments run it (uvicorn), configured from
the environment only (OIDC_*), waiting for an admin's approval of new
accounts. A new account lands on the waiting page; once approved, the same
provider sign-in opens the chat and an answer streams in."""

import pytest
from allauth.socialaccount.models import SocialAccount
from playwright.sync_api import expect

from accounts.models import Role, User
from accounts.services import user_update_access

from ..oidc_provider.launch import PROVIDER_ID, ProviderUser, app_environment, start_oidc_provider
from ..processes import free_port, start_asgi_server
from .conftest import outside_the_page_loop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.integration]

IDP_USER = ProviderUser(username="sso-bob", password="idp-Pass-7731", email="bob@example.org")


@pytest.fixture(scope="module")
def live_server_url(app_env, process_log_dir, celery_worker):
    """This module's own web process, with the test provider configured in
    its environment; the provider knows its callback (the port comes first)."""
    port = free_port()
    provider, provider_url = start_oidc_provider(
        redirect_uris=[f"http://127.0.0.1:{port}/accounts/oidc/{PROVIDER_ID}/login/callback/"],
        user=IDP_USER,
        log_dir=process_log_dir,
        name="oidc-provider-browser",
    )
    env = dict(app_env, ACCOUNTS_REQUIRE_APPROVAL="true", **app_environment(provider_url))
    server, url = start_asgi_server(env, process_log_dir, name="web-sso", port=port)
    yield url
    server.stop()
    provider.stop()


def sign_in_through_the_provider(page, *, signed_in_there: bool = False) -> None:
    page.goto("/accounts/login/")
    page.get_by_test_id(f"sso-{PROVIDER_ID}").click()
    # The provider's pages (its own look, on its own port).
    if not signed_in_there:
        expect(page).to_have_title("Test IdP: sign in")
        page.get_by_label("Username").fill(IDP_USER.username)
        page.get_by_label("Password").fill(IDP_USER.password)
        page.get_by_role("button", name="Sign in to Test IdP").click()
    page.locator("input[name=allow]").click()  # consent: the provider asks each time


def test_a_new_account_signs_in_through_the_provider_waits_then_chats(page, live_server_url):
    page.goto("/accounts/login/")
    expect(page.get_by_test_id(f"sso-{PROVIDER_ID}")).to_have_text("Sign in with Test IdP")

    sign_in_through_the_provider(page)
    page.wait_for_url(f"{live_server_url}/accounts/pending/")
    expect(page.get_by_role("heading", name="Your account is waiting for approval")).to_be_visible()
    bob = User.objects.get(socialaccount__provider=PROVIDER_ID)
    assert (bob.username, bob.email, bob.role, bob.is_approved) == ("sso-bob", IDP_USER.email, Role.USER, False)
    expect(page.locator(".account .username")).to_have_text("sso-bob")

    page.get_by_test_id("logout").click()
    outside_the_page_loop(lambda: user_update_access(user=bob, is_approved=True))
    sign_in_through_the_provider(page, signed_in_there=True)  # the provider remembers bob; the app asks it again
    page.wait_for_url(f"{live_server_url}/")
    page.get_by_test_id("composer").fill("Hello from single sign-on")
    page.get_by_test_id("composer").press("Enter")
    answer = page.locator("[data-testid=message][data-role=assistant]").first
    expect(answer.get_by_test_id("message-content")).not_to_have_text("")
    assert SocialAccount.objects.filter(user=bob).count() == 1 and User.objects.count() == 1
    assert not page.errors
