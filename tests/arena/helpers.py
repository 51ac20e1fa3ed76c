from django.utils import timezone

from arena import services
from chat.models import Conversation, Message, MessageStatus


def finish(message: Message, text: str) -> None:
    """Stands in for the worker: the answer written and complete."""
    Message.objects.filter(pk=message.pk).update(
        content=text, status=MessageStatus.COMPLETE, model_version=message.model_version, finished_at=timezone.now()
    )


def played_match(user, content="Which is larger, 7 or 9?", texts=("Nine.", "Seven is larger."), trial_version=None):
    """A started match whose two answers are written."""
    conversation = Conversation.objects.create(owner=user)
    match = services.match_start(user=user, conversation=conversation, content=content, trial_version=trial_version)
    Message.objects.filter(pk=match.question_id).update(status=MessageStatus.ACCEPTED)
    finish(match.answer_a, texts[0])
    finish(match.answer_b, texts[1])
    match.refresh_from_db()
    return match
