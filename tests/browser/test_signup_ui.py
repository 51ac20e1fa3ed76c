"""The sign-up page in a real browser (issue 17): a mistake in one field
costs only that field. A taken username keeps what else was typed, the
passwords included; a password problem clears both passwords; each error
shows under its own field, and the password rules are one short hint."""

import pytest
from playwright.sync_api import expect

from .test_account_ui import PHONE, assert_fits

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.integration]

PASSWORD = "a-Strong-pass-123"


def _fill(page, *, username, email, password1, password2):
    page.fill("input[name=username]", username)
    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", password1)
    page.fill("input[name=password2]", password2)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_load_state()


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_a_taken_username_keeps_the_rest_of_the_form(page, live_server_url, make_user, viewport):
    make_user(username="taken")
    if viewport:
        page.set_viewport_size(viewport)
    page.goto("/accounts/signup/")
    hint = page.get_by_test_id("signup-password1-hint")
    expect(hint).to_have_text(
        "At least 8 characters, not like your username or email, not a common password, not only digits."
    )
    assert page.locator("form ul:not(.errorlist):not(.field-errors)").count() == 0, "the rules are a hint, not a list"
    assert hint.bounding_box()["height"] < 60

    _fill(page, username="taken", email="me@example.com", password1=PASSWORD, password2=PASSWORD)
    errors = page.get_by_test_id("signup-username-errors")
    expect(errors).to_contain_text("already exists")
    # Under the username input, in the username's own block.
    assert errors.bounding_box()["y"] > page.locator("input[name=username]").bounding_box()["y"]
    expect(page.get_by_test_id("signup-username").locator("input[name=username]")).to_have_attribute(
        "aria-invalid", "true"
    )
    expect(page.locator("input[name=username]")).to_have_value("taken")
    expect(page.locator("input[name=email]")).to_have_value("me@example.com")
    expect(page.locator("input[name=password1]")).to_have_value(PASSWORD)
    expect(page.locator("input[name=password2]")).to_have_value(PASSWORD)
    assert_fits(page)

    page.fill("input[name=username]", "newcomer")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(live_server_url + "/")
    assert not page.errors


def test_a_password_problem_clears_both_passwords_and_says_where(page, live_server_url):
    page.goto("/accounts/signup/")
    _fill(page, username="newcomer", email="", password1=PASSWORD, password2=PASSWORD + "x")
    expect(page.get_by_test_id("signup-password2-errors")).to_have_text("You must type the same password each time.")
    expect(page.locator("input[name=username]")).to_have_value("newcomer")
    expect(page.locator("input[name=password1]")).to_have_value("")
    expect(page.locator("input[name=password2]")).to_have_value("")

    _fill(page, username="newcomer", email="", password1="12345678", password2="12345678")
    rules = page.get_by_test_id("signup-password1-errors")
    expect(rules).to_contain_text("This password is too common.")
    expect(rules).to_contain_text("This password is entirely numeric.")
    expect(page.locator("input[name=password1]")).to_have_value("")
    assert not page.errors
