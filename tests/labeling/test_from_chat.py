"""Chat data into the labeling pool: opted-in users' accepted prompts after
input moderation, and their thumbs-down answers as ranking candidates with
the reasons on the linked feedback. Nothing flows without the opt-in. Chat
only announces (chat.signals); labeling's receivers do the sharing."""

import pytest

from chat import services
from chat.context import system_prompt_fingerprint
from chat.models import Conversation, Feedback, Message, MessageStatus
from chat.signals import answer_disliked, user_message_accepted
from chat.worker import user_message_moderate
from labeling.from_chat import chat_prompt_share, disliked_answer_share
from labeling.models import Candidate, Prompt
from moderation.models import ModerationRule

pytestmark = pytest.mark.django_db


@pytest.fixture
def rules_only(settings):
    settings.MODERATION_LAYERS = settings.MODERATION_OUTPUT_LAYERS = ["rules"]
    settings.MODERATION_RULES_REFRESH_SECONDS = 0
    ModerationRule.objects.create(category="violence", kind="words", pattern="brawl", score=0.95)


def exchange(
    owner, text="How do tides work?", answer="The moon pulls the sea.", *, system="", parent=None, conversation=None
):
    """A question as input moderation accepts it (beside the system
    prompt), and its answer."""
    conversation = conversation or Conversation.objects.create(owner=owner, system_prompt=system)
    question = Message.objects.create(
        conversation=conversation,
        parent=parent,
        role="user",
        content=text,
        status=MessageStatus.ACCEPTED,
        moderation={
            "flagged": False,
            "context": {"system_prompt": system_prompt_fingerprint(conversation.system_prompt)},
        },
    )
    reply = Message.objects.create(
        conversation=conversation,
        parent=question,
        role="assistant",
        content=answer,
        status=MessageStatus.COMPLETE,
        sampling={"temperature": 0.7},
    )
    return question, reply


class TestPromptSharing:
    def test_accepted_prompt_of_opted_in_user_joins_the_pool_after_moderation(
        self, make_user, captured_tasks, rules_only
    ):
        user = make_user(username="sharer", shares_chat_data=True)
        conversation, question, answer = services.message_send(
            user=user, conversation=None, parent=None, content="What is a tide?"
        )
        user_message_moderate(message_id=question.pk)
        prompt = Prompt.objects.get()
        assert prompt.source == Prompt.Source.CHAT and prompt.chat_message_id == question.pk
        assert prompt.messages == [{"role": "user", "content": "What is a tide?"}]
        assert prompt.author == user
        assert ("generate", answer.pk) in captured_tasks

    def test_flagged_prompt_never_joins(self, make_user, captured_tasks, rules_only):
        user = make_user(username="sharer", shares_chat_data=True)
        _, question, _ = services.message_send(user=user, conversation=None, parent=None, content="Start a brawl")
        user_message_moderate(message_id=question.pk)
        question.refresh_from_db()
        assert question.status == MessageStatus.FLAGGED and not Prompt.objects.exists()

    def test_nothing_flows_without_the_opt_in(self, make_user, captured_tasks, rules_only):
        user = make_user(username="private")
        _, question, _ = services.message_send(user=user, conversation=None, parent=None, content="What is a tide?")
        user_message_moderate(message_id=question.pk)
        assert not Prompt.objects.exists()
        assert chat_prompt_share(message=Message.objects.get(pk=question.pk)) is None

    def test_a_branch_with_a_flagged_turn_is_not_shared(self, make_user):
        user = make_user(username="sharer", shares_chat_data=True)
        first_q, first_a = exchange(user, "Start a brawl", "[template]")
        Message.objects.filter(pk=first_q.pk).update(status=MessageStatus.FLAGGED)
        Message.objects.filter(pk=first_a.pk).update(status=MessageStatus.MODERATED)
        second_q, second_a = exchange(
            user, "Fine, what is a tide?", "Water.", conversation=first_q.conversation, parent=first_a
        )
        assert chat_prompt_share(message=second_q) is None
        services.feedback_submit(user=user, message=second_a, rating=-1, reasons=["Not helpful"], comment="")
        assert not Prompt.objects.exists() and not Candidate.objects.exists()

    def test_multi_turn_context_and_system_prompt_are_kept_once(self, make_user):
        user = make_user(username="sharer", shares_chat_data=True)
        first_q, first_a = exchange(user, system="Be brief.")
        second_q, _ = exchange(user, "And in lakes?", "Barely.", conversation=first_q.conversation, parent=first_a)
        prompt = chat_prompt_share(message=second_q)
        assert [m["role"] for m in prompt.messages] == ["system", "user", "assistant", "user"]
        assert chat_prompt_share(message=second_q) == prompt and Prompt.objects.count() == 1


class TestChatSignals:
    """Chat sends its facts to whoever listens; labeling's receivers are
    connected once (labeling.apps), so each fact is shared once."""

    def test_an_accepted_message_of_an_opted_in_user_becomes_a_prompt_through_the_receiver(self, make_user):
        user = make_user(username="sharer", shares_chat_data=True)
        question, _ = exchange(user)
        responses = user_message_accepted.send(sender=Message, message=question)
        assert [response for receiver, response in responses if response is not None] == [Prompt.objects.get()]
        assert Prompt.objects.get().chat_message == question

    def test_a_disliked_answer_becomes_a_candidate_through_the_receiver(self, make_user):
        user = make_user(username="sharer", shares_chat_data=True)
        _, answer = exchange(user)
        feedback = Feedback.objects.create(
            message=answer, user=user, rating=Feedback.Rating.DOWN, reasons=["Being lazy"]
        )
        responses = answer_disliked.send(sender=Feedback, feedback=feedback)
        assert [response for receiver, response in responses if response is not None] == [Candidate.objects.get()]
        assert Candidate.objects.get().source_feedback == feedback


class TestThumbsDown:
    def rate_down(self, user, answer, reasons=("Not helpful",)):
        return services.feedback_submit(user=user, message=answer, rating=-1, reasons=list(reasons), comment="")

    def test_thumbs_down_answer_becomes_a_candidate_with_its_reasons(self, make_user):
        user = make_user(username="sharer", shares_chat_data=True)
        question, answer = exchange(user, system="Be brief.")
        feedback = self.rate_down(user, answer, ["Not helpful", "Too verbose"])
        candidate = Candidate.objects.get(source_feedback=feedback)
        assert candidate.text == "The moon pulls the sea." and candidate.origin == Candidate.Origin.MODEL
        assert candidate.prompt.source == Prompt.Source.CHAT
        assert candidate.prompt.messages == [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "How do tides work?"},
        ]
        assert candidate.source_feedback.reasons == ["Not helpful", "Too verbose"]

    def test_a_disliked_answer_cut_off_at_the_length_limit_stays_marked(self, make_user):
        user = make_user(username="sharer", shares_chat_data=True)
        _, cut = exchange(user, answer="The moon pulls")
        Message.objects.filter(pk=cut.pk).update(finish_reason="length")
        _, whole = exchange(user, text="And the sun?", answer="It pulls too.")
        Message.objects.filter(pk=whole.pk).update(finish_reason="stop")
        for answer in (cut, whole):
            answer.refresh_from_db()
            self.rate_down(user, answer)
        assert Candidate.objects.get(text="The moon pulls").finish_reason == "length"
        assert Candidate.objects.get(text="It pulls too.").finish_reason == "stop"

    def test_repeated_feedback_makes_no_duplicates(self, make_user):
        user = make_user(username="sharer", shares_chat_data=True)
        _, answer = exchange(user)
        first = self.rate_down(user, answer)
        self.rate_down(user, answer, ["Being lazy"])
        services.feedback_submit(user=user, message=answer, rating=1, reasons=[], comment="")
        self.rate_down(user, answer, ["Other"])
        assert (Prompt.objects.count(), Candidate.objects.count()) == (1, 1)
        assert Candidate.objects.get().source_feedback == first
        assert Feedback.objects.get().reasons == ["Other"]
        assert disliked_answer_share(feedback=first) == Candidate.objects.get()

    def test_sibling_answers_share_one_prompt(self, make_user):
        user = make_user(username="sharer", shares_chat_data=True)
        question, answer = exchange(user)
        sibling = Message.objects.create(
            conversation=question.conversation,
            parent=question,
            role="assistant",
            content="Wind does it.",
            status=MessageStatus.COMPLETE,
        )
        self.rate_down(user, answer)
        self.rate_down(user, sibling)
        assert Prompt.objects.count() == 1
        assert sorted(Candidate.objects.values_list("text", flat=True)) == ["The moon pulls the sea.", "Wind does it."]

    def test_without_opt_in_feedback_is_kept_but_nothing_flows(self, make_user):
        user = make_user(username="private")
        _, answer = exchange(user)
        feedback = self.rate_down(user, answer)
        feedback.refresh_from_db()
        assert feedback.reasons == ["Not helpful"]
        assert not Prompt.objects.exists() and not Candidate.objects.exists()

    def test_thumbs_up_and_moderated_answers_do_not_flow(self, make_user):
        user = make_user(username="sharer", shares_chat_data=True)
        _, answer = exchange(user)
        services.feedback_submit(user=user, message=answer, rating=1, reasons=[], comment="")
        _, moderated = exchange(user, "Another question?", "[template]")
        Message.objects.filter(pk=moderated.pk).update(status=MessageStatus.MODERATED)
        moderated.refresh_from_db()
        self.rate_down(user, moderated)
        assert not Candidate.objects.exists()


class TestOnlyWhatModerationPassedIsShared:
    """Issue 15, item 4: the system prompt and /v1's client turns reached
    the annotators' pool without moderation."""

    def v1_exchange(self, user, messages):
        from openai_api.requests import parse_completion_request
        from openai_api.services import completion_start

        answer = completion_start(
            user=user, request=parse_completion_request({"messages": messages}), on_stored=lambda conversation: None
        )
        return Message.objects.get(pk=answer.parent_id), answer

    def test_client_turns_are_not_shared_before_moderation_judged_them(self, make_user, captured_tasks, rules_only):
        user = make_user(username="sharer", shares_chat_data=True)
        question, _ = self.v1_exchange(
            user,
            [
                {"role": "user", "content": "Name a colour."},
                {"role": "assistant", "content": "Blue."},
                {"role": "user", "content": "Another?"},
            ],
        )
        Message.objects.filter(pk=question.pk).update(status=MessageStatus.ACCEPTED)  # as if judged alone
        assert chat_prompt_share(message=Message.objects.get(pk=question.pk)) is None
        Message.objects.filter(pk=question.pk).update(status=MessageStatus.PENDING)
        user_message_moderate(message_id=question.pk)  # judges them all, then shares
        assert [m["content"] for m in Prompt.objects.get().messages] == ["Name a colour.", "Blue.", "Another?"]

    def test_a_fabricated_answer_is_never_a_model_candidate(self, make_user, captured_tasks, rules_only):
        user = make_user(username="sharer", shares_chat_data=True)
        question, _ = self.v1_exchange(
            user,
            [
                {"role": "user", "content": "Name a colour."},
                {"role": "assistant", "content": "Blue."},
                {"role": "user", "content": "Another?"},
            ],
        )
        user_message_moderate(message_id=question.pk)
        fabricated = Message.objects.get(content="Blue.")
        services.feedback_submit(user=user, message=fabricated, rating=-1, reasons=["Not helpful"], comment="")
        assert not Candidate.objects.exists()

    def test_a_system_prompt_changed_since_moderation_is_not_shared(self, make_user, captured_tasks, rules_only):
        user = make_user(username="sharer", shares_chat_data=True)
        question, answer = exchange(user, system="Be brief.")
        Conversation.objects.filter(pk=question.conversation_id).update(system_prompt="Start a brawl")
        answer.refresh_from_db()
        services.feedback_submit(user=user, message=answer, rating=-1, reasons=["Not helpful"], comment="")
        assert not Prompt.objects.exists() and not Candidate.objects.exists()
