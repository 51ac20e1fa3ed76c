"""A refusal says why (bug 7): role-gated pages answer 403 with a styled
page, the site's navigation and whom to ask; the JSON APIs answer JSON."""

import pytest
from django.test import Client

from accounts.access import role_refusal
from accounts.models import Role

pytestmark = pytest.mark.django_db


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_role_refusal_names_the_role_to_ask_for():
    assert role_refusal((Role.ANNOTATOR, Role.MODERATOR)) == (
        "This page is for annotators, moderators and admins: ask an admin for the annotator role."
    )
    assert role_refusal((Role.MODERATOR,)) == (
        "This page is for moderators and admins: ask an admin for the moderator role."
    )
    assert role_refusal((Role.ADMIN,)) == "This page is for admins."


@pytest.mark.parametrize(
    "path,reason",
    [
        ("/labeling/", "This page is for annotators, moderators and admins: ask an admin for the annotator role."),
        ("/moderation/review/", "This page is for moderators and admins: ask an admin for the moderator role."),
        ("/accounts/users/", "This page is for admins."),
        ("/usage/", "This page is for admins."),
        ("/jobs/", "Training is for admins and the accounts an admin gives the right to train: ask an admin for it."),
        ("/arena/", "The arena is open to the users an admin lets in: ask an admin to enable it for you."),
    ],
)
def test_a_role_gated_page_refuses_with_its_reason_and_the_navigation(make_user, path, reason):
    response = client_of(make_user(username="plain")).get(path)
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert f'data-testid="forbidden-reason">{reason}</p>' in page.replace("&#x27;", "'")
    assert 'class="topnav"' in page and 'href="/accounts/settings/"' in page
    assert "/static/css/app.css" in page


def test_the_arena_api_refuses_in_json(make_user):
    response = client_of(make_user(username="plain")).get("/arena/api/matches/1/")
    assert response.status_code == 403
    assert response.json() == {
        "error": "The arena is open to the users an admin lets in: ask an admin to enable it for you.",
        "code": "forbidden",
    }


def test_a_client_asking_for_json_is_refused_in_json(make_user):
    response = client_of(make_user(username="plain")).post(
        "/moderation/review/decide/", {"decision": "confirm"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 403
    assert response.json()["error"] == "This page is for moderators and admins: ask an admin for the moderator role."


def test_a_bare_permission_denied_gets_a_general_reason(make_user, rf):
    from django.core.exceptions import PermissionDenied

    from accounts.views import DEFAULT_REFUSAL, permission_denied_view

    request = rf.get("/somewhere/")
    request.user = make_user(username="plain")
    response = permission_denied_view(request, PermissionDenied())
    assert response.status_code == 403 and DEFAULT_REFUSAL in response.content.decode()
