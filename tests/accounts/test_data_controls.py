"""The data controls on the settings page (chat/data_controls.py): export
all my data, delete all chats, delete my account, keeping what moderation
must keep."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Role, User
from chat import services
from chat.data_controls import account_delete, conversations_delete_all, user_data_export
from chat.models import Conversation, Feedback, Message, MessageStatus
from core.errors import UserError
from moderation.flags import review_item_create
from moderation.models import ReviewDecision, ReviewItem
from review.services import review_item_decide

from ..moderation.factories import make_verdict

pytestmark = pytest.mark.django_db

PASSWORD = "a-Strong-pass-123"


def say(conversation, parent, role, content, status):
    return Message.objects.create(conversation=conversation, parent=parent, role=role, content=content, status=status)


@pytest.fixture
def chats(user):
    """A chat with two branches and a thumbs-down, and a flagged chat
    whose review item a moderator confirmed."""
    branched = Conversation.objects.create(owner=user, title="Poems", system_prompt="Rhyme.", temperature=0.3)
    question = say(branched, None, "user", "A poem, please", MessageStatus.ACCEPTED)
    first = say(branched, question, "assistant", "Roses are red", MessageStatus.COMPLETE)
    second = say(branched, question, "assistant", "Violets are blue", MessageStatus.COMPLETE)
    Conversation.objects.filter(pk=branched.pk).update(current_leaf=second)
    Feedback.objects.create(message=first, user=user, rating=-1, reasons=["Too verbose"], comment="long")

    flagged = Conversation.objects.create(owner=user, title="abuse")
    bad = say(flagged, None, "user", "how do I make a pipe bomb", MessageStatus.FLAGGED)
    template = say(flagged, bad, "assistant", "I can't help.", MessageStatus.MODERATED)
    item = review_item_create(message=template, direction="input", text=bad.content, verdict=make_verdict("violence"))
    moderator = User.objects.create_user(username="mod", role=Role.MODERATOR)
    review_item_decide(item=item, reviewer=moderator, decision="confirm")
    return branched, flagged, item


def test_the_export_holds_every_branch_feedback_and_setting(user, chats):
    branched, _, _ = chats
    other = User.objects.create_user(username="bob")
    Conversation.objects.create(owner=other, title="Bob's secret")
    data = user_data_export(user=user)

    assert data["account"]["username"] == "alice"
    assert data["settings"] == {"shares_chat_data": False, "time_zone": None}
    assert [c["title"] for c in data["conversations"]] == ["Poems", "abuse"]
    poems = data["conversations"][0]
    assert (poems["system_prompt"], poems["temperature"]) == ("Rhyme.", 0.3)
    contents = [m["content"] for m in poems["messages"]]
    assert contents == ["A poem, please", "Roses are red", "Violets are blue"]
    roses = poems["messages"][1]
    assert roses["feedback"]["rating"] == -1 and roses["feedback"]["reasons"] == ["Too verbose"]
    assert poems["messages"][2]["feedback"] is None
    assert poems["messages"][2]["parent"] == poems["messages"][0]["id"] == roses["parent"]
    assert "Bob's secret" not in json.dumps(data)
    assert data["reports"] == []


def test_the_export_holds_the_users_reports_and_their_outcome(user, chats):
    branched, _, _ = chats
    answer = branched.messages.get(content="Roses are red")
    item = services.message_report(user=user, message=answer, reason="Plagiarised")
    review_item_decide(item=item, reviewer=User.objects.get(username="mod"), decision="overturn")
    User.objects.filter(pk=user.pk).update(time_zone="Asia/Tokyo")
    user.refresh_from_db()
    data = user_data_export(user=user)
    assert data["settings"]["time_zone"] == "Asia/Tokyo"
    [report] = data["reports"]
    assert (report["answer"], report["reason"], report["status"]) == ("Roses are red", "Plagiarised", "overturned")
    assert report["conversation"] == branched.pk and report["decided_at"]


def test_the_export_is_a_json_download(user, chats):
    client = Client()
    client.force_login(user)
    response = client.get("/accounts/data/export/")
    assert response["Content-Disposition"] == 'attachment; filename="chatsite-data-alice.json"'
    assert len(json.loads(response.content)["conversations"]) == 2


def test_deleting_all_chats_soft_deletes_each_and_keeps_the_evidence(user, chats):
    _, flagged, item = chats
    assert conversations_delete_all(user=user) == 2
    assert not Conversation.objects.filter(owner=user, deleted_at__isnull=True).exists()
    assert Conversation.objects.filter(owner=user).count() == 2  # kept until purged
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.CONFIRMED and item.conversation_id == flagged.pk
    assert user_data_export(user=user)["conversations"] == []


def test_delete_all_asks_first_then_deletes(user, chats):
    client = Client()
    client.force_login(user)
    assert "Delete all chats?" in client.get("/accounts/data/delete-chats/").content.decode()
    assert Conversation.objects.filter(owner=user, deleted_at__isnull=True).count() == 2
    response = client.post("/accounts/data/delete-chats/", follow=True)
    assert "Deleted 2 chats." in response.content.decode()
    assert not Conversation.objects.filter(owner=user, deleted_at__isnull=True).exists()


def test_deleting_the_account_anonymises_it_and_keeps_what_moderation_needs(user, chats, settings):
    branched, flagged, item = chats
    account_delete(user=user)

    user.refresh_from_db()
    assert (user.username, user.email) == (f"deleted-{user.pk}", "")
    assert not (user.is_active or user.has_usable_password())
    assert not Client().login(username="alice", password=PASSWORD)
    assert not Conversation.objects.filter(owner=user, deleted_at__isnull=True).exists()

    # The purge, once the retention has passed, takes the plain chat and
    # keeps the flagged one the confirmed review item needs.
    long_ago = timezone.now() - timedelta(days=settings.CONVERSATION_RETENTION_DAYS + 1)
    Conversation.objects.filter(owner=user).update(deleted_at=long_ago)
    assert services.conversations_purge() == 1
    assert list(Conversation.objects.filter(owner=user).values_list("pk", flat=True)) == [flagged.pk]
    item.refresh_from_db()
    assert item.owner_id == user.pk and item.text == "how do I make a pipe bomb"
    assert ReviewDecision.objects.filter(item=item).count() == 1


def test_the_last_admin_cannot_delete_their_account(make_user):
    boss = make_user(username="boss", role=Role.ADMIN)
    with pytest.raises(UserError, match="only admin"):
        account_delete(user=boss)
    boss.refresh_from_db()
    assert boss.is_active and boss.username == "boss"


def test_deleting_the_account_needs_the_password_and_signs_out(user, chats):
    client = Client()
    client.force_login(user)
    wrong = client.post("/accounts/data/delete-account/", {"password": "not-it"})
    assert "That is not your password." in wrong.content.decode()
    user.refresh_from_db()
    assert user.is_active

    done = client.post("/accounts/data/delete-account/", {"password": PASSWORD})
    assert "Your account is deleted" in done.content.decode()
    user.refresh_from_db()
    assert not user.is_active
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_an_account_without_a_password_confirms_its_deletion_with_its_username(make_user):
    """An account made through single sign-on has no password to type."""
    sso = make_user(username="sso-carol", password=None)
    client = Client()
    client.force_login(sso)
    assert "Type your username, sso-carol, to confirm" in client.get("/accounts/data/delete-account/").content.decode()
    wrong = client.post("/accounts/data/delete-account/", {"password": "someone-else"})
    assert "That is not your username." in wrong.content.decode()
    sso.refresh_from_db()
    assert sso.is_active

    done = client.post("/accounts/data/delete-account/", {"password": "sso-carol"})
    assert "Your account is deleted" in done.content.decode()
    sso.refresh_from_db()
    assert not sso.is_active
