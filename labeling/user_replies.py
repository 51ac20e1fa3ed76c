"""User reply tasks: an annotator reads a conversation that ends in an
answer and writes what the user says next, as OpenAssistant's prompter
replies grow its message trees.

The reply becomes a prompt of its own (source `user_reply`) whose messages
are its parent's, the answer and the new user turn, linked to the parent
prompt and the answer it continues so the tree can be walked. It joins the
pool like any prompt: admins generate its candidates and ranking task
there, and its writer is never given a task on it.
"""

from django.db import IntegrityError, transaction

from core.errors import UserError

from .answer_tasks import task_answer
from .assignments import assignment_finish, assignment_lock_for_finish
from .models import Assignment, Prompt, Task
from .text import clean_answer, clean_messages, messages_hash


def reply_messages(*, prompt: Prompt, answer_text: str, reply: str) -> list[dict]:
    """The conversation the reply makes: the prompt's turns, the answer,
    then the user's reply. Raises ValueError for one a prompt cannot be."""
    return clean_messages(
        [*prompt.messages, {"role": "assistant", "content": answer_text}, {"role": "user", "content": reply}]
    )


@transaction.atomic
def user_reply_submit(*, assignment: Assignment, text: str) -> Prompt:
    """Stores the annotator's next user turn as a new prompt continuing the
    task's answer. Refused: an empty reply, and one that makes a
    conversation already in the pool (someone wrote the same reply)."""
    assignment = assignment_lock_for_finish(assignment)
    if assignment.task.kind != Task.Kind.USER_REPLY:
        raise UserError("wrong_kind", f"This task asks you to {assignment.task.get_kind_display().lower()}.")
    text = clean_answer(text).strip()
    if not text:
        raise UserError("empty", "The reply is empty.")
    answer = task_answer(task=assignment.task)
    parent = assignment.task.prompt
    try:
        messages = reply_messages(prompt=parent, answer_text=answer.text, reply=text)
    except ValueError as error:
        raise UserError("invalid_reply", f"This reply cannot continue the conversation: {error}.") from None
    try:
        with transaction.atomic():
            prompt = Prompt.objects.create(
                messages=messages,
                source=Prompt.Source.USER_REPLY,
                source_ref=f"reply to answer {answer.pk} of prompt {parent.pk}",
                content_hash=messages_hash(messages),
                author=assignment.annotator,
                parent=parent,
                parent_candidate=answer,
                reply_assignment=assignment,
            )
    except IntegrityError:
        raise UserError(
            "duplicate", "Someone already wrote this very reply to this answer; write a different one."
        ) from None
    assignment_finish(assignment, Assignment.State.SUBMITTED)
    return prompt
