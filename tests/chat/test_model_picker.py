"""The model picker per conversation (chat.model_choice): what it offers,
picks checked on the server, and answers written by the picked version."""

import json

import pytest

from chat import services
from chat.model_choice import chat_model_choices
from chat.models import Conversation, Message, MessageStatus
from chat.worker import answer_generate
from engine.tiny import build_tiny_chat_model
from registry.models import ModelVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def versions(tmp_path):
    serving = ModelVersion.objects.create(
        name="tiny-serving",
        kind="policy",
        source="trained",
        path=str(build_tiny_chat_model(tmp_path / "serving", never_ends=True, seed=1)),
        is_serving=True,
        description="What answers unless you pick another.",
    )
    offered = ModelVersion.objects.create(
        name="tiny-sft-2",
        kind="policy",
        source="trained",
        path=str(build_tiny_chat_model(tmp_path / "sft", never_ends=True, seed=2)),
        chat_available=True,
        chat_label="Tiny SFT",
        description="Fine-tuned on our demonstrations.",
    )
    hidden = ModelVersion.objects.create(name="tiny-draft", kind="policy", source="trained", path="/nowhere/draft")
    return serving, offered, hidden


def _pick(client, conversation, version):
    return client.put(
        f"/api/conversations/{conversation.pk}/model/",
        data=json.dumps({"version": version}),
        content_type="application/json",
    )


def test_the_picker_offers_the_serving_model_first_then_the_versions_admins_made_available(versions):
    serving, offered, _ = versions
    ModelVersion.objects.create(name="a-reward", kind="reward", source="trained", path="/x", chat_available=True)
    choices = chat_model_choices()
    assert [(c["id"], c["name"], c["label"]) for c in choices] == [
        (None, "tiny-serving", "tiny-serving"),
        (offered.pk, "tiny-sft-2", "Tiny SFT"),
    ]
    assert choices[1]["description"] == "Fine-tuned on our demonstrations."
    assert choices[0]["version_id"] == serving.pk


def test_the_page_lists_the_choices(client, user, versions):
    client.force_login(user)
    page = client.get("/").content.decode()
    assert 'id="chat-models"' in page and "Tiny SFT" in page and "tiny-draft" not in page


def test_the_owner_picks_an_offered_version_and_back_to_the_default(client, user, versions):
    serving, offered, _ = versions
    conversation = Conversation.objects.create(owner=user)
    client.force_login(user)
    response = _pick(client, conversation, offered.pk)
    assert response.status_code == 200 and response.json()["conversation"]["model_version"] == offered.pk
    conversation.refresh_from_db()
    assert conversation.model_version == offered
    assert _pick(client, conversation, serving.pk).json()["conversation"]["model_version"] is None
    _pick(client, conversation, offered.pk)
    assert _pick(client, conversation, None).json()["conversation"]["model_version"] is None


@pytest.mark.parametrize("value", ["hidden", "reward", 999999, "text", True])
def test_a_version_chat_does_not_offer_is_refused_and_nothing_changes(client, user, versions, value):
    _, offered, hidden = versions
    reward = ModelVersion.objects.create(
        name="a-reward", kind="reward", source="trained", path="/x", chat_available=True
    )
    raw = {"hidden": hidden.pk, "reward": reward.pk, "text": str(offered.pk)}.get(value, value)
    conversation = Conversation.objects.create(owner=user, model_version=offered)
    client.force_login(user)
    response = _pick(client, conversation, raw)
    assert response.status_code == 400 and response.json()["code"] == "invalid_model"
    conversation.refresh_from_db()
    assert conversation.model_version == offered


def test_a_pick_without_a_version_key_is_refused(client, user, versions):
    conversation = Conversation.objects.create(owner=user, model_version=versions[1])
    client.force_login(user)
    response = client.put(f"/api/conversations/{conversation.pk}/model/", data="{}", content_type="application/json")
    assert response.status_code == 400
    conversation.refresh_from_db()
    assert conversation.model_version == versions[1]


def test_another_users_conversation_cannot_be_given_a_model(client, make_user, user, versions):
    conversation = Conversation.objects.create(owner=user)
    client.force_login(make_user(username="mallory"))
    assert _pick(client, conversation, versions[1].pk).status_code == 404
    conversation.refresh_from_db()
    assert conversation.model_version is None


def test_get_tells_the_pick_and_the_choices_and_only_put_picks(client, user, versions):
    conversation = Conversation.objects.create(owner=user, model_version=versions[1])
    client.force_login(user)
    state = client.get(f"/api/conversations/{conversation.pk}/model/").json()
    assert state["model_version"] == versions[1].pk
    assert [choice["id"] for choice in state["choices"]] == [None, versions[1].pk]
    assert client.post(f"/api/conversations/{conversation.pk}/model/").status_code == 405


def _ask(user, conversation):
    _, question, answer = services.message_send(user=user, conversation=conversation, parent=None, content="Hello")
    return question, answer


def test_new_regenerated_and_edited_answers_are_queued_for_the_picked_version(user, versions, captured_tasks):
    _, offered, _ = versions
    conversation = Conversation.objects.create(owner=user, model_version=offered, max_new_tokens=4)
    question, answer = _ask(user, conversation)
    assert answer.model_version == offered
    Message.objects.filter(pk__in=[question.pk, answer.pk]).update(status=MessageStatus.ACCEPTED)
    Message.objects.filter(pk=answer.pk).update(status=MessageStatus.COMPLETE)
    answer.refresh_from_db()
    assert services.answer_regenerate(user=user, message=answer).model_version == offered
    _, edited, edited_answer = services.message_send(user=user, conversation=conversation, parent=None, content="Hi")
    assert edited_answer.model_version == offered


def test_a_pick_no_longer_offered_falls_back_to_the_serving_model(user, versions, captured_tasks):
    _, offered, _ = versions
    conversation = Conversation.objects.create(owner=user, model_version=offered)
    ModelVersion.objects.filter(pk=offered.pk).update(chat_available=False)
    conversation.refresh_from_db()
    _, answer = _ask(user, conversation)
    assert answer.model_version is None, "the worker reads None as the serving version"
    conversation.refresh_from_db()
    assert conversation.model_version == offered, "kept, so the page can say the pick is no longer offered"


def test_the_answer_is_written_by_the_picked_version_and_says_so(user, versions):
    serving, offered, _ = versions
    for version, picked in ((offered, offered), (None, serving)):
        conversation = Conversation.objects.create(owner=user, model_version=version, max_new_tokens=3)
        question = Message.objects.create(
            conversation=conversation, role="user", content="Tell me about the sea", status=MessageStatus.ACCEPTED
        )
        answer = services._new_answer(conversation=conversation, parent=question)
        answer_generate(message_id=answer.pk)
        answer.refresh_from_db()
        assert (answer.status, answer.model_version, answer.model_name) == (MessageStatus.COMPLETE, picked, picked.name)
        assert answer.completion_tokens == 3
