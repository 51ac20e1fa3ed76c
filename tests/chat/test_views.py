import json

import pytest

from chat.models import Conversation, Message, MessageStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation(user):
    conversation = Conversation.objects.create(owner=user, title="Mine")
    question = Message.objects.create(
        conversation=conversation, role="user", content="What is 2+2?", status=MessageStatus.ACCEPTED
    )
    answer = Message.objects.create(
        conversation=conversation, parent=question, role="assistant", content="**4**", status=MessageStatus.COMPLETE
    )
    conversation.current_leaf = answer
    conversation.save()
    return conversation


def test_anonymous_is_sent_to_login(client, conversation):
    assert client.get("/").status_code == 302
    assert client.get(f"/c/{conversation.pk}/")["Location"].startswith("/accounts/login/")
    assert client.get("/api/conversations/").status_code == 401


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/c/{id}/"),
        ("get", "/c/{id}/export.json"),
        ("get", "/c/{id}/export.md"),
        ("get", "/api/conversations/{id}/"),
        ("delete", "/api/conversations/{id}/"),
        ("patch", "/api/conversations/{id}/"),
        ("get", "/api/messages/{msg}/"),
        ("post", "/api/messages/{msg}/feedback/"),
        ("post", "/api/conversations/{id}/select/"),
    ],
)
def test_another_users_conversation_is_not_found(client, make_user, conversation, method, path):
    client.force_login(make_user(username="mallory"))
    url = path.format(id=conversation.pk, msg=conversation.current_leaf_id)
    if method == "get":
        response = client.get(url)
    else:
        body = json.dumps({"title": "pwned", "rating": 1, "message": conversation.current_leaf_id})
        response = getattr(client, method)(url, data=body, content_type="application/json")
    assert response.status_code == 404
    conversation.refresh_from_db()
    assert conversation.title == "Mine"


def test_owner_reads_renames_and_exports(client, user, conversation):
    client.force_login(user)
    detail = client.get(f"/api/conversations/{conversation.pk}/").json()
    assert [m["content"] for m in detail["messages"]] == ["What is 2+2?", "**4**"]
    assert detail["messages"][1]["html"] == "<p><strong>4</strong></p>\n"
    response = client.patch(
        f"/api/conversations/{conversation.pk}/",
        data={"title": "Sums", "temperature": 0.1},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["conversation"]["title"] == "Sums"
    export = client.get(f"/c/{conversation.pk}/export.json")
    assert export["Content-Disposition"] == 'attachment; filename="sums.json"'
    assert len(export.json()["messages"]) == 2
    markdown = client.get(f"/c/{conversation.pk}/export.md").content.decode()
    assert markdown.startswith("# Sums") and "**User:**\n\nWhat is 2+2?" in markdown and "**4**" in markdown


@pytest.mark.parametrize(
    "body,error",
    [
        ({"temperature": 5}, "between"),
        ({"temperature": "hot"}, "number"),
        ({"max_new_tokens": 10**9}, "between"),
        ({"title": ""}, "non-empty"),
        ({"owner": 1}, "Unknown setting"),
    ],
)
def test_bad_settings_get_a_clear_error(client, user, conversation, body, error):
    client.force_login(user)
    response = client.patch(f"/api/conversations/{conversation.pk}/", data=body, content_type="application/json")
    assert response.status_code == 400 and error in response.json()["error"]


def test_malformed_json_is_a_clear_error(client, user, conversation):
    client.force_login(user)
    response = client.patch(f"/api/conversations/{conversation.pk}/", data="{not json", content_type="application/json")
    assert response.status_code == 400 and "not valid JSON" in response.json()["error"]


def test_feedback_round_trip(client, user, conversation):
    client.force_login(user)
    url = f"/api/messages/{conversation.current_leaf_id}/feedback/"
    response = client.post(
        url, data={"rating": -1, "reasons": ["Too verbose"], "comment": "shorter"}, content_type="application/json"
    )
    assert response.status_code == 200
    detail = client.get(f"/api/conversations/{conversation.pk}/").json()
    assert detail["feedback"][str(conversation.current_leaf_id)] == {
        "rating": -1,
        "reasons": ["Too verbose"],
        "comment": "shorter",
    }


def test_csrf_is_enforced_on_the_api(user, conversation):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.delete(f"/api/conversations/{conversation.pk}/")
    assert response.status_code == 403
    assert Conversation.objects.filter(pk=conversation.pk).exists()


def test_delete_and_search(client, user, conversation):
    client.force_login(user)
    assert client.get("/api/conversations/?q=2%2B2").json()["conversations"][0]["id"] == conversation.pk
    assert client.delete(f"/api/conversations/{conversation.pk}/").status_code == 200
    assert client.get(f"/api/conversations/{conversation.pk}/").status_code == 404
    assert client.get("/api/conversations/?q=2%2B2").json()["conversations"] == []
    assert Conversation.objects.get(pk=conversation.pk).deleted_at is not None  # kept until purged


def test_chat_page_renders_with_inert_user_text(client, user, conversation):
    Message.objects.filter(role="user").update(content='<img src=x onerror="alert(1)">')
    client.force_login(user)
    response = client.get(f"/c/{conversation.pk}/")
    page = response.content.decode()
    # The text reaches the page only inside the escaped JSON; the browser gets
    # it back exactly, with escaped HTML to show.
    assert "<img src=x" not in page
    question = response.context["initial"]["messages"][0]
    assert question["content"] == '<img src=x onerror="alert(1)">'
    assert question["html"] == "<p>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</p>"
