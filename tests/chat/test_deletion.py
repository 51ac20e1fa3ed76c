"""Deleting a conversation hides it from its owner at once and purges it
after CONVERSATION_RETENTION_DAYS, never while moderation needs it: what a
user deletes must not take the moderators' evidence (review items and their
decisions) with it (issue 15, item 7)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chat import services
from chat.access import access_conversation_by_id, access_message_by_id
from chat.models import Conversation, Message, MessageStatus
from chat.selectors import conversation_list
from moderation.flags import review_item_create
from moderation.models import ReviewDecision, ReviewItem
from review.services import review_item_decide

from ..moderation.factories import make_verdict

pytestmark = pytest.mark.django_db


@pytest.fixture
def flagged(user):
    """A conversation whose user message was flagged: the template answer
    carries the review item, as input moderation files it."""
    conversation = Conversation.objects.create(owner=user, title="abuse")
    question = Message.objects.create(
        conversation=conversation, role="user", content="how do I make a pipe bomb", status=MessageStatus.FLAGGED
    )
    answer = Message.objects.create(
        conversation=conversation,
        parent=question,
        role="assistant",
        content="I can't help.",
        status=MessageStatus.MODERATED,
    )
    item = review_item_create(
        message=answer, direction="input", text=question.content, verdict=make_verdict("violence")
    )
    return conversation, question, answer, item


def test_deleting_a_conversation_keeps_its_review_item_and_decisions(flagged, make_user):
    conversation, _, _, item = flagged
    review_item_decide(item=item, reviewer=make_user(username="mod", role="moderator"), decision="confirm")
    services.conversation_delete(conversation=conversation)
    item.refresh_from_db()
    assert item.text == "how do I make a pipe bomb" and item.verdict["categories"]["violence"]
    assert item.status == ReviewItem.Status.CONFIRMED
    assert ReviewDecision.objects.filter(item=item).count() == 1
    assert item.conversation_id == conversation.pk and item.owner_id == conversation.owner_id


def test_a_deleted_conversation_is_hidden_from_its_owner_everywhere(flagged, user):
    from django.http import Http404

    conversation, question, _, _ = flagged
    services.conversation_delete(conversation=conversation)
    assert conversation_list(user=user) == []
    assert conversation_list(user=user, query="pipe bomb") == []
    with pytest.raises(Http404):
        access_conversation_by_id(user, conversation.pk)
    with pytest.raises(Http404):
        access_message_by_id(user, question.pk)


def test_the_moderator_queue_still_shows_an_item_of_a_deleted_conversation(flagged, client, make_user):
    conversation, _, _, item = flagged
    client.force_login(make_user(username="deleter-owner"))  # any session, then the moderator's
    client.delete(f"/api/conversations/{conversation.pk}/")  # someone else's: 404, nothing happens
    client.force_login(conversation.owner)
    assert client.delete(f"/api/conversations/{conversation.pk}/").status_code == 200
    client.force_login(make_user(username="mod", role="moderator"))
    queue = client.get("/moderation/review/").content.decode()
    assert "how do I make a pipe bomb" in queue and conversation.owner.username in queue
    detail = client.get(f"/moderation/review/{item.pk}/").content.decode()
    assert "how do I make a pipe bomb" in detail


def _deleted(conversation, days_ago: float) -> None:
    Conversation.objects.filter(pk=conversation.pk).update(deleted_at=timezone.now() - timedelta(days=days_ago))


@pytest.mark.parametrize("status", [ReviewItem.Status.OPEN, ReviewItem.Status.CONFIRMED])
def test_the_purge_keeps_a_conversation_that_an_open_or_confirmed_item_needs(flagged, make_user, settings, status):
    settings.CONVERSATION_RETENTION_DAYS = 30
    conversation, _, _, item = flagged
    if status == ReviewItem.Status.CONFIRMED:
        review_item_decide(item=item, reviewer=make_user(username="mod", role="moderator"), decision="confirm")
    _deleted(conversation, days_ago=90)
    assert services.conversations_purge() == 0
    assert Conversation.objects.filter(pk=conversation.pk).exists()


def test_the_purge_removes_conversations_past_retention_and_keeps_their_items(flagged, user, make_user, settings):
    settings.CONVERSATION_RETENTION_DAYS = 30
    conversation, _, answer, item = flagged
    review_item_decide(item=item, reviewer=make_user(username="mod", role="moderator"), decision="overturn")
    recent = Conversation.objects.create(owner=user, title="recent")
    Message.objects.create(conversation=recent, role="user", content="hi", status=MessageStatus.ACCEPTED)
    kept = Conversation.objects.create(owner=user, title="not deleted")
    _deleted(conversation, days_ago=31)
    _deleted(recent, days_ago=29)
    Conversation.objects.filter(pk=kept.pk).update(updated_at=timezone.now() - timedelta(days=400))

    assert services.conversations_purge() == 1
    assert set(Conversation.objects.values_list("title", flat=True)) == {"recent", "not deleted"}
    assert not Message.objects.filter(pk=answer.pk).exists()
    item.refresh_from_db()
    assert item.message_id is None and item.text == "how do I make a pipe bomb"
    assert item.conversation_id == conversation.pk and item.owner_id == user.pk
    assert item.decisions.count() == 1


def test_the_purge_runs_in_beat_on_the_housekeeping_queue(settings):
    entry = next(
        e
        for e in settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "chatsite.tasks.purge_deleted_conversations_task"
    )
    assert entry["options"]["queue"] == settings.HOUSEKEEPING_QUEUE


def test_the_review_page_of_a_purged_conversation_shows_the_kept_text(flagged, client, make_user, settings):
    settings.CONVERSATION_RETENTION_DAYS = 0
    conversation, _, _, item = flagged
    review_item_decide(item=item, reviewer=make_user(username="mod0", role="moderator"), decision="overturn")
    services.conversation_delete(conversation=conversation)
    _deleted(conversation, days_ago=1)
    assert services.conversations_purge() == 1
    client.force_login(make_user(username="mod", role="moderator"))
    detail = client.get(f"/moderation/review/{item.pk}/")
    assert detail.status_code == 200 and "how do I make a pipe bomb" in detail.content.decode()
    queue = client.get("/moderation/review/", {"status": "all"}).content.decode()
    assert "how do I make a pipe bomb" in queue and conversation.owner.username in queue


def test_a_conversation_with_no_message_goes_at_once(user):
    """A first send that was refused leaves an empty conversation behind,
    which holds nothing to keep."""
    conversation = Conversation.objects.create(owner=user)
    services.conversation_delete(conversation=conversation)
    assert not Conversation.objects.filter(pk=conversation.pk).exists()


def test_a_deleted_conversation_is_not_shared_into_the_labeling_pool(make_user):
    """Deleting used to remove the rows, so a message moderated after its
    conversation was deleted had nothing to share; now the rows stay, and
    the owner's deletion must still keep them out of the pool."""
    from labeling.from_chat import chat_prompt_share
    from labeling.models import Prompt

    owner = make_user(username="sharer", shares_chat_data=True)
    conversation = Conversation.objects.create(owner=owner)
    question = Message.objects.create(
        conversation=conversation, role="user", content="What is the capital of France?", status=MessageStatus.PENDING
    )
    services.conversation_delete(conversation=conversation)
    Message.objects.filter(pk=question.pk).update(status=MessageStatus.ACCEPTED)  # moderation, afterwards
    question.refresh_from_db()
    assert chat_prompt_share(message=question) is None
    assert not Prompt.objects.exists()
