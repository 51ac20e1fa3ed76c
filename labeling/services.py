"""Writes of the prompt pool outside imports (labeling.imports): prompts
an annotator writes or a chat user shares, the model candidates admins ask
for, and the annotators' guidelines."""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from chat.models import Message
from chat.selectors import message_branch
from core.errors import UserError

from .models import MAX_CANDIDATES, MIN_CANDIDATES, CandidateGeneration, Guidelines, Prompt
from .text import clean_answer, clean_messages, messages_hash


def prompt_create(*, author, messages: list[dict]) -> Prompt:
    """A prompt an annotator wrote. Raises UserError when the
    conversation is malformed or already in the pool."""
    try:
        messages = clean_messages(messages)
    except ValueError as error:
        raise UserError("invalid_prompt", f"The prompt is not valid: {error}.") from None
    try:
        with transaction.atomic():
            return Prompt.objects.create(
                messages=messages, source=Prompt.Source.ANNOTATOR, author=author, content_hash=messages_hash(messages)
            )
    except IntegrityError:
        raise UserError("duplicate", "This prompt is already in the pool.") from None


def chat_prompt_messages(*, message: Message) -> list[dict]:
    """The conversation up to a user's chat message (its system prompt
    first, then the turns of its branch) as a prompt's clean messages: what
    the pool and the judged-answer datasets hold of it. Raises UserError for
    a conversation a prompt cannot be (empty turns)."""
    if message.role != Message.Role.USER:
        raise UserError("not_a_prompt", "Only a user message can be shared as a prompt.")
    messages = [{"role": m.role, "content": m.content} for m in message_branch(message)]
    if message.conversation.system_prompt.strip():
        messages.insert(0, {"role": "system", "content": message.conversation.system_prompt})
    try:
        return clean_messages(messages)
    except ValueError as error:
        raise UserError("invalid_prompt", f"This conversation cannot be a prompt: {error}.") from None


def prompt_create_from_chat(*, message: Message) -> Prompt:
    """The conversation up to a user's chat message, as a prompt.
    Precondition: the message's owner opted in to sharing it. Sharing the
    same conversation again returns the prompt already made."""
    messages = chat_prompt_messages(message=message)
    prompt, _ = Prompt.objects.get_or_create(
        content_hash=messages_hash(messages),
        defaults={
            "messages": messages,
            "source": Prompt.Source.CHAT,
            "source_ref": f"conversation {message.conversation_id}",
            "author": message.conversation.owner,
            "chat_message": message,
        },
    )
    return prompt


def candidate_generations_expire() -> int:
    """Fails the generations whose worker died mid-way (they stay `running`
    with nobody working on them), so the admin sees it and the prompt can
    be requested again; returns how many."""
    cutoff = timezone.now() - timedelta(minutes=settings.LABELING_GENERATION_TIMEOUT_MINUTES)
    return CandidateGeneration.objects.filter(state=CandidateGeneration.State.RUNNING, started_at__lt=cutoff).update(
        state=CandidateGeneration.State.FAILED,
        error="The worker stopped before finishing; request this prompt again.",
        finished_at=timezone.now(),
    )


def candidate_generations_request(
    *,
    prompts: list[Prompt],
    model_versions: list,
    k: int,
    required_annotations: int,
    max_new_tokens: int,
    created_by=None,
) -> list[CandidateGeneration]:
    """Queues the generation of `k` candidates for each prompt from
    `model_versions` (policy versions), each then made a ranking task; the
    generation queue's workers do it (labeling.generation) once this
    transaction commits."""
    if not MIN_CANDIDATES <= k <= MAX_CANDIDATES:
        raise UserError("invalid_k", f"K must be from {MIN_CANDIDATES} to {MAX_CANDIDATES}.")
    if not model_versions:
        raise UserError("no_versions", "Choose at least one model version.")
    from .tasks import candidates_generate_task

    with transaction.atomic():
        generations = CandidateGeneration.objects.bulk_create(
            [
                CandidateGeneration(
                    prompt=prompt,
                    k=k,
                    required_annotations=required_annotations,
                    max_new_tokens=max_new_tokens,
                    created_by=created_by,
                )
                for prompt in dict.fromkeys(prompts)
            ]
        )
        CandidateGeneration.model_versions.through.objects.bulk_create(
            [
                CandidateGeneration.model_versions.through(candidategeneration_id=g.pk, modelversion_id=v.pk)
                for g in generations
                for v in model_versions
            ]
        )
        ids = [g.pk for g in generations]

        def enqueue():
            for pk in ids:
                candidates_generate_task.delay(pk)

        transaction.on_commit(enqueue)
    return generations


def guidelines_update(*, kind: str, text: str, updated_by) -> Guidelines:
    guidelines, _ = Guidelines.objects.update_or_create(
        kind=kind, defaults={"text": clean_answer(text).strip(), "updated_by": updated_by}
    )
    return guidelines
