"""Chat's models in Django's admin (issue 17): their lists, searches and
pages load for a superuser, and what users made cannot be edited there."""

import pytest

from chat.models import ChatImport, Conversation, Feedback, Message, MessageStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client, make_user):
    client.force_login(make_user(username="root", role="admin", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def rated_answer(make_user):
    alice = make_user(username="alice")
    conversation = Conversation.objects.create(owner=alice, title="Tides")
    question = Message.objects.create(conversation=conversation, role="user", content="Why tides?", status="accepted")
    reply = Message.objects.create(
        conversation=conversation,
        parent=question,
        role="assistant",
        content="The moon.",
        status=MessageStatus.COMPLETE,
        finish_reason="stop",
    )
    Feedback.objects.create(message=reply, user=alice, rating=-1, reasons=["Too verbose"], comment="shorter")
    ChatImport.objects.create(owner=alice, format="chatgpt", file_name="conversations.json", file_size=10)
    return reply


@pytest.mark.parametrize("model", ["conversation", "message", "feedback", "chatimport"])
def test_the_changelists_load_and_search(superuser_client, rated_answer, model):
    response = superuser_client.get(f"/admin/chat/{model}/")
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1
    assert superuser_client.get(f"/admin/chat/{model}/", {"q": "alice"}).status_code == 200


def test_an_answer_and_its_feedback_are_read_only(superuser_client, rated_answer):
    page = superuser_client.get(f"/admin/chat/message/{rated_answer.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "The moon." in html and 'name="content"' not in html and 'name="finish_reason"' not in html
    superuser_client.post(f"/admin/chat/message/{rated_answer.pk}/change/", {"content": "edited"})
    rated_answer.refresh_from_db()
    assert rated_answer.content == "The moon."
    feedback = Feedback.objects.get()
    assert 'name="reasons"' not in superuser_client.get(f"/admin/chat/feedback/{feedback.pk}/change/").content.decode()
    assert superuser_client.get(f"/admin/chat/message/{rated_answer.pk}/delete/").status_code == 403


def test_only_a_conversations_title_is_edited_here(superuser_client, rated_answer):
    conversation = rated_answer.conversation
    html = superuser_client.get(f"/admin/chat/conversation/{conversation.pk}/change/").content.decode()
    assert 'name="title"' in html and 'name="system_prompt"' not in html and 'name="current_leaf"' not in html
    response = superuser_client.post(f"/admin/chat/conversation/{conversation.pk}/change/", {"title": "Moon and sea"})
    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.title == "Moon and sea"
    assert superuser_client.get("/admin/chat/conversation/add/").status_code == 403


def test_defaults_and_presets_are_listed_and_read_only(superuser_client, make_user):
    from chat.models import ChatDefaults, SettingsPreset

    bob = make_user(username="bob")
    ChatDefaults.objects.create(user=bob, temperature=0.3, top_p=0.9, max_new_tokens=256)
    preset = SettingsPreset.objects.create(owner=bob, name="Terse", temperature=0.7, top_p=0.9, max_new_tokens=64)
    for model in ("chatdefaults", "settingspreset"):
        listing = superuser_client.get(f"/admin/chat/{model}/", {"q": "bob"})
        assert listing.status_code == 200 and listing.context["cl"].result_count == 1
    page = superuser_client.get(f"/admin/chat/settingspreset/{preset.pk}/change/")
    assert page.status_code == 200 and not page.context["has_change_permission"]


def test_an_import_is_read_only(superuser_client, rated_answer):
    upload = ChatImport.objects.get()
    html = superuser_client.get(f"/admin/chat/chatimport/{upload.pk}/change/").content.decode()
    assert "conversations.json" in html and 'name="state"' not in html
    assert superuser_client.get(f"/admin/chat/chatimport/{upload.pk}/delete/").status_code == 403
