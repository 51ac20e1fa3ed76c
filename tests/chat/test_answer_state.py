"""What the chat page is told of an answer beyond its text (issue 17): that
its viewer reported it, that it was cut off at the length limit (and its
Continue), and that a flagged message does not name the conversation."""

import pytest

from chat import services
from chat.models import Conversation, Message, MessageStatus
from chat.selectors import conversation_detail, conversation_list, message_detail, model_context
from chat.worker import answer_generate, user_message_moderate
from core.errors import UserError
from moderation.models import ModerationRule
from review.services import review_item_decide

pytestmark = pytest.mark.django_db


def exchange(conversation, question_text="Insult me", answer_text="You are a fool.", **answer_fields):
    question = Message.objects.create(
        conversation=conversation, role="user", content=question_text, status=MessageStatus.ACCEPTED
    )
    fields = {"status": MessageStatus.COMPLETE, **answer_fields}
    answer = Message.objects.create(
        conversation=conversation, parent=question, role="assistant", content=answer_text, **fields
    )
    conversation.current_leaf = answer
    conversation.save(update_fields=["current_leaf"])
    return question, answer


class TestReported:
    def test_a_reported_answer_loads_with_its_report_under_review_then_decided(self, user, make_user):
        conversation = Conversation.objects.create(owner=user)
        _, answer = exchange(conversation)
        _, other = exchange(conversation, "Again", "Still a fool.")

        def report(message):
            detail = conversation_detail(conversation=conversation, user=user)
            loaded = next(m for m in detail["messages"] if m["id"] == message.pk)
            assert message_detail(message=message, user=user)["report"] == loaded["report"]
            return loaded["report"] and loaded["report"]["status"]

        assert report(answer) is None
        item = services.message_report(user=user, message=answer, reason="rude")
        assert report(answer) == "open" and report(other) is None
        review_item_decide(item=item, reviewer=make_user(username="mod", role="moderator"), decision="overturn")
        assert report(answer) == "overturned", "decided: the page shows the outcome, and offers a new report"

    def test_the_message_endpoint_says_so_too(self, client, user):
        conversation = Conversation.objects.create(owner=user)
        _, answer = exchange(conversation)
        services.message_report(user=user, message=answer, reason="")
        client.force_login(user)
        assert client.get(f"/api/messages/{answer.pk}/").json()["message"]["report"]["status"] == "open"
        assert client.get(f"/api/conversations/{conversation.pk}/").json()["messages"][1]["report"]["status"] == "open"


class TestTitle:
    @pytest.fixture(autouse=True)
    def rules_only(self, settings):
        settings.MODERATION_LAYERS = settings.MODERATION_OUTPUT_LAYERS = ["rules"]
        settings.MODERATION_RULES_REFRESH_SECONDS = 0
        ModerationRule.objects.create(category="violence", kind="words", pattern="brawl", score=0.95)

    def test_a_flagged_first_message_does_not_name_the_conversation(self, user, captured_tasks):
        conversation, question, _ = services.message_send(
            user=user, conversation=None, parent=None, content="Start a brawl outside the station tonight"
        )
        user_message_moderate(message_id=question.pk)
        conversation.refresh_from_db()
        assert conversation.title == "New chat"
        assert [c["title"] for c in conversation_list(user=user)] == ["New chat"]

    def test_the_next_clean_message_names_it(self, user, captured_tasks):
        conversation, question, refusal = services.message_send(
            user=user, conversation=None, parent=None, content="Start a brawl tonight"
        )
        user_message_moderate(message_id=question.pk)
        refusal.refresh_from_db()
        conversation.refresh_from_db()
        conversation, clean, _ = services.message_send(
            user=user, conversation=conversation, parent=refusal, content="Recommend a novel instead"
        )
        user_message_moderate(message_id=clean.pk)
        conversation.refresh_from_db()
        assert conversation.title == "Recommend a novel instead"

    def test_a_later_flagged_message_leaves_the_title_alone(self, user, captured_tasks):
        conversation, question, answer = services.message_send(
            user=user, conversation=None, parent=None, content="Recommend a novel"
        )
        user_message_moderate(message_id=question.pk)
        Message.objects.filter(pk=answer.pk).update(status=MessageStatus.COMPLETE, content="Dune.")
        answer.refresh_from_db()
        _, flagged, _ = services.message_send(
            user=user, conversation=conversation, parent=answer, content="Plan a brawl"
        )
        user_message_moderate(message_id=flagged.pk)
        conversation.refresh_from_db()
        assert conversation.title == "Recommend a novel"


class TestCutOff:
    """The tiny model never ends its turn: every answer runs to max_new_tokens."""

    @pytest.fixture(autouse=True)
    def tiny_model(self, settings, tiny_model_dir):
        settings.CHAT_MODEL = str(tiny_model_dir)

    def written(self, user, captured_tasks, max_new_tokens=6):
        conversation, question, answer = services.message_send(
            user=user,
            conversation=None,
            parent=None,
            content="Tell me about the sea",
            settings_values={"max_new_tokens": max_new_tokens},
        )
        user_message_moderate(message_id=question.pk)
        answer_generate(message_id=answer.pk)
        answer.refresh_from_db()
        return conversation, answer

    def test_an_answer_that_reached_max_new_tokens_says_it_was_cut_off(self, user, captured_tasks):
        _, answer = self.written(user, captured_tasks)
        assert (answer.status, answer.finish_reason, answer.completion_tokens) == (MessageStatus.COMPLETE, "length", 6)
        assert message_detail(message=answer, user=user)["finish_reason"] == "length"

    def test_continue_writes_on_in_the_same_answer(self, user, captured_tasks):
        conversation, answer = self.written(user, captured_tasks)
        first_text = answer.content
        continued = services.answer_continue(user=user, message=answer)
        assert continued.pk == answer.pk and continued.status == MessageStatus.QUEUED
        assert model_context(continued)[-1] == {"role": "assistant", "content": first_text}, "the model writes on"
        answer_generate(message_id=answer.pk)
        answer.refresh_from_db()
        assert answer.status == MessageStatus.COMPLETE and answer.finish_reason == "length"
        assert answer.content.startswith(first_text) and len(answer.content) > len(first_text)
        assert answer.completion_tokens == 12, "both runs' tokens"
        assert Message.objects.filter(role="assistant").count() == 1
        conversation.refresh_from_db()
        assert conversation.current_leaf_id == answer.pk

    def test_only_the_newest_cut_off_answer_continues(self, user, captured_tasks):
        conversation, answer = self.written(user, captured_tasks)
        _, ended = exchange(conversation, "Hi", "Hello.", finish_reason="stop")
        with pytest.raises(UserError, match="cut off"):
            services.answer_continue(user=user, message=ended)
        services.message_send(user=user, conversation=conversation, parent=answer, content="And then?")
        with pytest.raises(UserError, match="newest"):
            services.answer_continue(user=user, message=answer)
        with pytest.raises(UserError, match="Only an answer"):
            services.answer_continue(user=user, message=answer.parent)
        answer.refresh_from_db()
        assert answer.status == MessageStatus.COMPLETE
