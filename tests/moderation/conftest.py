import pytest

from chat.models import Conversation, Message, MessageStatus
from moderation import rules
from moderation.flags import review_item_create
from moderation.pipeline import moderate

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

    def make(*categories: str, text: str = "flagged text", layer: str = "rules", direction: str = "output"):
        return review_item_create(
            message=exchange[1], direction=direction, text=text, verdict=make_verdict(*categories, layer=layer)
        )

    return make


@pytest.fixture
def item(exchange):
    """A threat in the exchange's answer, flagged by the rules layer."""
    _, answer = exchange
    verdict = moderate("I will kill you", "assistant")
    return review_item_create(message=answer, direction="output", text="I will kill you", verdict=verdict)
