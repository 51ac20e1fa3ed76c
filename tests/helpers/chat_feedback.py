"""Rated chat answers as chat leaves them, for the tests of the judged-answer
(KTO) datasets: a question input moderation accepted beside the
conversation's system prompt, the model's complete answer, and its owner's
thumbs up or down through chat's own service."""

from chat import services
from chat.context import system_prompt_fingerprint
from chat.models import Conversation, Feedback, Message, MessageStatus


def rated_answer(
    owner,
    question: str,
    answer: str,
    *,
    up: bool,
    conversation: Conversation | None = None,
    parent: Message | None = None,
    system: str = "",
    model_version=None,
) -> tuple[Message, Message, Feedback]:
    """(question, answer, feedback) of one exchange, rated by its owner."""
    conversation = conversation or Conversation.objects.create(owner=owner, system_prompt=system)
    asked = Message.objects.create(
        conversation=conversation,
        parent=parent,
        role=Message.Role.USER,
        content=question,
        status=MessageStatus.ACCEPTED,
        moderation={
            "flagged": False,
            "context": {"system_prompt": system_prompt_fingerprint(conversation.system_prompt)},
        },
    )
    answered = Message.objects.create(
        conversation=conversation,
        parent=asked,
        role=Message.Role.ASSISTANT,
        content=answer,
        status=MessageStatus.COMPLETE,
        finish_reason="stop",
        moderation={"flagged": False},
        model_version=model_version,
    )
    reasons = ["Accurate information"] if up else ["Not helpful"]
    feedback = services.feedback_submit(
        user=owner, message=answered, rating=1 if up else -1, reasons=reasons, comment="my own words"
    )
    return asked, answered, feedback
