import pytest

from chat.models import Conversation, Message, MessageStatus
from core.errors import UserError
from labeling.models import Prompt
from labeling.services import prompt_create, prompt_create_from_chat

pytestmark = pytest.mark.django_db


class TestPrompts:
    def test_an_annotator_writes_a_prompt_once(self, annotators):
        (author,) = annotators(1)
        prompt = prompt_create(author=author, messages=[{"role": "user", "content": "How do tides work?"}])
        assert prompt.source == Prompt.Source.ANNOTATOR and prompt.author == author
        with pytest.raises(UserError, match="already in the pool"):
            prompt_create(author=author, messages=[{"role": "user", "content": "  how do TIDES work? "}])

    @pytest.mark.parametrize(
        "messages, problem",
        [
            ([], "non-empty list"),
            ([{"role": "user", "content": "  "}], "empty text"),
            ([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}], "end with a user turn"),
            ([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}], "should be a assistant turn"),
            ([{"role": "robot", "content": "a"}], "role 'robot'"),
        ],
    )
    def test_a_malformed_prompt_is_refused(self, annotators, messages, problem):
        with pytest.raises(UserError, match=problem):
            prompt_create(author=annotators(1)[0], messages=messages)

    def test_a_chat_message_becomes_a_prompt_with_its_context(self, user):
        conversation = Conversation.objects.create(owner=user, system_prompt="Be brief.")
        first = Message.objects.create(
            conversation=conversation, role="user", content="Hi", status=MessageStatus.ACCEPTED
        )
        answer = Message.objects.create(
            conversation=conversation, parent=first, role="assistant", content="Hello!", status=MessageStatus.COMPLETE
        )
        second = Message.objects.create(
            conversation=conversation,
            parent=answer,
            role="user",
            content="Name a prime.",
            status=MessageStatus.ACCEPTED,
        )
        prompt = prompt_create_from_chat(message=second)
        assert prompt.messages == [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "Name a prime."},
        ]
        assert (prompt.source, prompt.author, prompt.chat_message) == (Prompt.Source.CHAT, user, second)
        assert prompt_create_from_chat(message=second) == prompt
        with pytest.raises(UserError):
            prompt_create_from_chat(message=answer)
