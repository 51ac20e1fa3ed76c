import pytest
from django.utils import timezone

from chat import runtime, services
from chat.models import Conversation, Feedback, Message, MessageStatus
from chat.selectors import branch_path, conversation_list, message_branch
from core.errors import UserError
from core.redis_client import redis_client

pytestmark = pytest.mark.django_db


def answered(conversation, parent, text="q", answer_status=MessageStatus.COMPLETE):
    question = Message.objects.create(
        conversation=conversation, parent=parent, role="user", content=text, status=MessageStatus.ACCEPTED
    )
    answer = Message.objects.create(
        conversation=conversation, parent=question, role="assistant", content="a " + text, status=answer_status
    )
    return question, answer


class TestMessageSend:
    def test_stores_message_and_placeholder_then_enqueues_moderation(
        self, user, captured_tasks, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            conversation, question, answer = services.message_send(
                user=user,
                conversation=None,
                parent=None,
                content="Hello there, model",
                settings_values={"temperature": 0.2},
            )
        assert conversation.owner == user and conversation.title == "Hello there, model"
        assert conversation.temperature == 0.2
        assert question.status == MessageStatus.PENDING and question.parent is None
        assert answer.status == MessageStatus.QUEUED and answer.parent == question
        assert answer.sampling["temperature"] == 0.2
        conversation.refresh_from_db()
        assert conversation.current_leaf == answer
        assert captured_tasks == [("moderate", question.pk)]

    def test_rejects_empty_and_oversize_messages(self, user, captured_tasks, settings):
        settings.CHAT_MAX_MESSAGE_CHARS = 10
        with pytest.raises(UserError) as empty:
            services.message_send(user=user, conversation=None, parent=None, content="   ")
        assert empty.value.code == "empty"
        with pytest.raises(UserError) as long:
            services.message_send(user=user, conversation=None, parent=None, content="x" * 11)
        assert long.value.code == "too_long" and "limit is 10" in long.value.message
        assert not Message.objects.exists()

    def test_rate_limit_per_minute(self, user, captured_tasks, settings):
        settings.CHAT_RATE_LIMIT_PER_MINUTE = 2
        settings.CHAT_MAX_CONCURRENT_GENERATIONS = 10
        conversation = Conversation.objects.create(owner=user)
        services.message_send(user=user, conversation=conversation, parent=None, content="one")
        services.message_send(user=user, conversation=conversation, parent=None, content="two")
        with pytest.raises(UserError) as exc:
            services.message_send(user=user, conversation=conversation, parent=None, content="three")
        assert exc.value.code == "rate_limited"

    def test_concurrent_generations_limit(self, user, captured_tasks, settings):
        settings.CHAT_MAX_CONCURRENT_GENERATIONS = 1
        conversation = Conversation.objects.create(owner=user)
        services.message_send(user=user, conversation=conversation, parent=None, content="one")
        with pytest.raises(UserError) as exc:
            services.message_send(user=user, conversation=conversation, parent=None, content="two")
        assert exc.value.code == "too_many_generations"

    def test_parent_must_be_an_answer_of_the_same_conversation(self, user, make_user, captured_tasks):
        mine = Conversation.objects.create(owner=user)
        other = Conversation.objects.create(owner=make_user(username="bob"))
        _, foreign_answer = answered(other, None)
        with pytest.raises(UserError):
            services.message_send(user=user, conversation=mine, parent=foreign_answer, content="hi")
        question, _ = answered(mine, None)
        with pytest.raises(UserError):
            services.message_send(user=user, conversation=mine, parent=question, content="hi")

    def test_edit_and_resend_makes_a_sibling_branch(self, user, captured_tasks):
        conversation = Conversation.objects.create(owner=user)
        q1, a1 = answered(conversation, None, "first")
        q2, a2 = answered(conversation, a1, "second")
        _, edited, new_answer = services.message_send(
            user=user, conversation=conversation, parent=a1, content="second, edited"
        )
        assert edited.parent == a1 and set(a1.children.all()) == {q2, edited}
        conversation.refresh_from_db()
        assert [m.pk for m in branch_path(conversation)] == [q1.pk, a1.pk, edited.pk, new_answer.pk]


class TestRegenerateAndBranches:
    def test_regenerate_adds_a_sibling_answer_and_enqueues_generation(
        self, user, captured_tasks, django_capture_on_commit_callbacks
    ):
        conversation = Conversation.objects.create(owner=user)
        question, first = answered(conversation, None)
        with django_capture_on_commit_callbacks(execute=True):
            second = services.answer_regenerate(user=user, message=first)
        assert second.parent == question and second.status == MessageStatus.QUEUED
        assert captured_tasks == [("generate", second.pk)]
        conversation.refresh_from_db()
        assert conversation.current_leaf == second

    def test_flagged_questions_are_not_answered_again(self, user, captured_tasks):
        conversation = Conversation.objects.create(owner=user)
        question, answer = answered(conversation, None, answer_status=MessageStatus.MODERATED)
        Message.objects.filter(pk=question.pk).update(status=MessageStatus.FLAGGED)
        with pytest.raises(UserError):
            services.answer_regenerate(user=user, message=answer)

    def test_select_branch_follows_the_newest_leaf(self, user):
        conversation = Conversation.objects.create(owner=user)
        q1, a1 = answered(conversation, None, "one")
        q2, a2 = answered(conversation, a1, "two")
        q1b, a1b = answered(conversation, None, "one again")
        leaf = services.conversation_select_branch(conversation=conversation, message=q1)
        assert leaf == a2
        conversation.refresh_from_db()
        assert [m.pk for m in branch_path(conversation)] == [q1.pk, a1.pk, q2.pk, a2.pk]
        assert services.conversation_select_branch(conversation=conversation, message=q1b) == a1b

    def test_message_branch_walks_root_to_leaf_whatever_the_status(self, user):
        conversation = Conversation.objects.create(owner=user)
        q1, a1 = answered(conversation, None, "one", answer_status=MessageStatus.STOPPED)
        q2, a2 = answered(conversation, a1, "two", answer_status=MessageStatus.MODERATED)
        Message.objects.filter(pk=q2.pk).update(status=MessageStatus.FLAGGED)
        answered(conversation, a1, "a sibling branch")
        assert [m.pk for m in message_branch(a2)] == [q1.pk, a1.pk, q2.pk, a2.pk]
        assert [m.pk for m in message_branch(q1)] == [q1.pk]


class TestStopAndReap:
    def test_stopping_a_queued_answer_ends_it_at_once(self, user):
        conversation = Conversation.objects.create(owner=user)
        question, answer = answered(conversation, None, answer_status=MessageStatus.QUEUED)
        services.generation_stop(message=answer)
        answer.refresh_from_db()
        assert answer.status == MessageStatus.STOPPED
        assert not runtime.is_cancel_requested(answer.pk), "no flag is left for a reused id to trip on"

    def test_stopping_a_running_answer_raises_the_flag_for_its_worker(self, user):
        conversation = Conversation.objects.create(owner=user)
        _, answer = answered(conversation, None, answer_status=MessageStatus.STREAMING)
        try:
            services.generation_stop(message=answer)
            assert runtime.is_cancel_requested(answer.pk)
        finally:
            runtime.clear_cancel(answer.pk)

    def test_streaming_answer_without_heartbeat_becomes_interrupted(self, user, settings):
        settings.GENERATION_HEARTBEAT_TIMEOUT = 1
        conversation = Conversation.objects.create(owner=user)
        _, dead = answered(conversation, None, answer_status=MessageStatus.STREAMING)
        _, alive = answered(conversation, None, answer_status=MessageStatus.STREAMING)
        _, fresh = answered(conversation, None, answer_status=MessageStatus.STREAMING)
        long_ago = timezone.now() - timezone.timedelta(seconds=30)
        Message.objects.filter(pk__in=[dead.pk, alive.pk]).update(started_at=long_ago)
        Message.objects.filter(pk=fresh.pk).update(started_at=timezone.now())
        redis_client().set(f"chat:heartbeat:{alive.pk}", 1, ex=10)
        try:
            assert services.messages_reap_interrupted() == [dead.pk]
        finally:
            redis_client().delete(f"chat:heartbeat:{alive.pk}")
        dead.refresh_from_db()
        assert dead.status == MessageStatus.INTERRUPTED and dead.content == "a q"
        assert "stopped" in dead.error


class TestFeedbackAndSearch:
    def test_feedback_is_stored_once_per_user_and_validated(self, user):
        conversation = Conversation.objects.create(owner=user)
        question, answer = answered(conversation, None)
        services.feedback_submit(
            user=user, message=answer, rating=-1, reasons=["Not factually correct"], comment="wrong year"
        )
        services.feedback_submit(user=user, message=answer, rating=-1, reasons=["Too verbose"], comment="")
        feedback = Feedback.objects.get()
        assert feedback.reasons == ["Too verbose"]
        with pytest.raises(UserError):
            services.feedback_submit(user=user, message=answer, rating=-1, reasons=["Accurate information"], comment="")
        with pytest.raises(UserError):
            services.feedback_submit(user=user, message=answer, rating=5, reasons=[], comment="")
        with pytest.raises(UserError):
            services.feedback_submit(user=user, message=question, rating=1, reasons=[], comment="")

    def test_search_matches_title_and_content_of_own_conversations(self, user, make_user):
        mine = Conversation.objects.create(owner=user, title="Trip planning")
        other = Conversation.objects.create(owner=user, title="Recipes")
        answered(other, None, "how long to boil an egg")
        theirs = Conversation.objects.create(owner=make_user(username="bob"), title="Trip to Rome")
        assert [c["id"] for c in conversation_list(user=user, query="trip")] == [mine.pk]
        assert [c["id"] for c in conversation_list(user=user, query="EGG")] == [other.pk]
        assert theirs.pk not in [c["id"] for c in conversation_list(user=user)]


def test_control_characters_are_stripped_before_storing(user, captured_tasks):
    _, question, _ = services.message_send(user=user, conversation=None, parent=None, content="a\x00b\x07c\td\ne")
    question.refresh_from_db()
    assert question.content == "abc\td\ne"
