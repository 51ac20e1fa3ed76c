import pytest

from chat.models import Conversation, Message, MessageStatus
from moderation import rules

from .factories import make_verdict


@pytest.fixture(autouse=True)
def fresh_rules():
    """Each test compiles rules from its own database state."""
    rules.invalidate()
    yield
    rules.invalidate()


@pytest.fixture
def exchange(make_user):
    """A user's question and the assistant's answer to it."""
    owner = make_user(username="owner")
    conversation = Conversation.objects.create(owner=owner)
    question = Message.objects.create(
        conversation=conversation, role="user", content="Tell me a story about a dragon", status=MessageStatus.ACCEPTED
    )
    answer = Message.objects.create(
        conversation=conversation, parent=question, role="assistant", content="", status=MessageStatus.MODERATED
    )
    return question, answer


@pytest.fixture
def flag(exchange):
    """Files a review item on the exchange's answer: flag("hate", "violence",
    text=..., layer=..., direction=...)."""
    from moderation.services import review_item_create

    def make(*categories: str, text: str = "flagged text", layer: str = "rules", direction: str = "output"):
        return review_item_create(
            message=exchange[1], direction=direction, text=text, verdict=make_verdict(*categories, layer=layer)
        )

    return make
