"""Admins offer policy versions in chat's model picker from the version's
page (registry.chat_versions); /v1 offers the same models by name."""

import pytest
from django.contrib.auth.models import Permission

from chat.models import Conversation
from openai_api.requests import parse_completion_request
from openai_api.selectors import served_model_names
from openai_api.services import completion_start
from registry.models import ModelVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def serving():
    return ModelVersion.objects.create(name="served", kind="policy", source="bundled", path="/m/s", is_serving=True)


@pytest.fixture
def candidate():
    return ModelVersion.objects.create(name="sft-7", kind="policy", source="trained", path="/m/sft-7")


def _offer(client, version, **fields):
    data = {"available": "1", "label": "Friendly SFT", "description": "Warmer, shorter answers.", **fields}
    return client.post(f"/models/{version.pk}/chat/", data)


def test_an_admin_offers_a_version_with_a_name_and_description_and_takes_it_back(client, make_user, serving, candidate):
    client.force_login(make_user(username="boss", role="admin"))
    response = _offer(client, candidate)
    assert response.status_code == 302 and response["Location"] == f"/models/{candidate.pk}/lineage/"
    candidate.refresh_from_db()
    assert (candidate.chat_available, candidate.chat_label, candidate.description) == (
        True,
        "Friendly SFT",
        "Warmer, shorter answers.",
    )
    page = client.get(f"/models/{candidate.pk}/lineage/").content.decode()
    assert 'data-testid="version-chat-form"' in page and "Friendly SFT" in page
    assert 'data-testid="chat-offered"' in client.get("/models/").content.decode()
    _offer(client, candidate, available="0")
    candidate.refresh_from_db()
    assert not candidate.chat_available


@pytest.mark.parametrize("role", ["trainer", "user", "moderator"])
def test_nobody_but_an_admin_offers_a_version(client, make_user, candidate, role):
    user = make_user(username="someone", role="moderator" if role == "moderator" else "user")
    if role == "trainer":
        user.user_permissions.add(Permission.objects.get(codename="add_trainingjob", content_type__app_label="jobs"))
    client.force_login(user)
    assert _offer(client, candidate).status_code in (302, 403)
    candidate.refresh_from_db()
    assert not candidate.chat_available
    if role == "trainer":
        assert 'data-testid="version-chat-form"' not in client.get(f"/models/{candidate.pk}/lineage/").content.decode()


@pytest.mark.parametrize(
    "kind,fields,message",
    [
        ("reward", {}, "is not a chat model"),
        ("policy", {"label": "x" * 81}, "at most 80 characters"),
        ("policy", {"description": "x" * 501}, "at most 500 characters"),
    ],
)
def test_what_chat_cannot_offer_is_refused_with_the_reason(client, make_user, kind, fields, message):
    version = ModelVersion.objects.create(name="v", kind=kind, source="trained", path="/m/v", description="Kept.")
    client.force_login(make_user(username="boss", role="admin"))
    response = _offer(client, version, **fields)
    assert message in client.get(response["Location"]).content.decode()
    version.refresh_from_db()
    assert not version.chat_available and version.description == "Kept."


def test_v1_models_lists_the_default_then_the_offered_versions_and_a_request_picks_one(user, serving, candidate):
    ModelVersion.objects.create(name="not-offered", kind="policy", source="trained", path="/m/n")
    candidate.chat_available = True
    candidate.save()
    assert served_model_names() == ["served", "sft-7"]

    request = parse_completion_request({"model": "sft-7", "messages": [{"role": "user", "content": "Hi"}]})
    answer = completion_start(user=user, request=request, on_stored=lambda conversation: None)
    assert answer.model_version == candidate
    assert Conversation.objects.get(pk=answer.conversation_id).model_version == candidate
    request = parse_completion_request({"model": "served", "messages": [{"role": "user", "content": "Hi"}]})
    assert completion_start(user=user, request=request, on_stored=lambda conversation: None).model_version is None
