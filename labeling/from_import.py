"""What a user's chat import gives the labeling pool: with their consent
(ChatImport.shares_prompts, asked on the upload page, off unless ticked),
each imported user turn input moderation accepted becomes an "import"
prompt: the conversation up to it, as chat's shared prompts are
(labeling.from_chat), its source_ref naming the import and conversation.

The receiver of chat's `chat_import_moderated`, sent once every imported
turn has a verdict. As in from_chat, a turn is shared only when nothing on
its branch was refused or still waits for moderation, conversations the
user deleted meanwhile are left out, and withdrawing consent stops sharing
from then on while what was shared stays. Idempotent: the same prompt
shared twice is one row (Prompt.content_hash).
"""

from chat.context import awaits_moderation, is_refused
from chat.models import ChatImport, Conversation, Message, MessageStatus

from .batches import BATCH_SIZE
from .models import Prompt
from .text import clean_messages, messages_hash


def _prompts_of(conversation: Conversation, chat_import: ChatImport) -> list[Prompt]:
    """The prompts of one conversation, read in one query: its tree is
    walked in memory, not branch by branch."""
    # Stored parents first (chat.imports_service), so in id order each
    # message's parent is met before it, whatever the export's times say.
    messages = {m.pk: m for m in conversation.messages.order_by("pk")}
    clean: dict[int | None, bool] = {None: True}
    path: dict[int | None, list[Message]] = {None: []}
    prompts = []
    for message in messages.values():
        parent = message.parent_id if message.parent_id in clean else None
        clean[message.pk] = clean[parent] and not is_refused(message) and not awaits_moderation(message)
        path[message.pk] = [*path[parent], message]
        if message.role != Message.Role.USER or message.status != MessageStatus.ACCEPTED or not clean[message.pk]:
            continue
        try:
            turns = clean_messages([{"role": m.role, "content": m.content} for m in path[message.pk]])
        except ValueError:  # turns that do not alternate: not a prompt a chat template takes
            continue
        prompts.append(
            Prompt(
                messages=turns,
                source=Prompt.Source.IMPORT,
                source_ref=f"chat import {chat_import.pk}, conversation {conversation.pk}",
                content_hash=messages_hash(turns),
                author=conversation.owner,
                chat_message=message,
            )
        )
    return prompts


def imported_prompts_share(*, chat_import: ChatImport, **signal) -> int:
    """Shares the accepted prompts of the import's conversations when its
    owner agreed to; returns how many (those already in the pool count:
    the user's prompt is there)."""
    chat_import.refresh_from_db(fields=["shares_prompts"])
    if not chat_import.shares_prompts:
        return 0
    shared = 0
    conversations = Conversation.objects.filter(chat_import=chat_import, deleted_at__isnull=True).select_related(
        "owner"
    )
    for conversation in conversations.order_by("pk"):
        prompts = _prompts_of(conversation, chat_import)
        Prompt.objects.bulk_create(prompts, batch_size=BATCH_SIZE, ignore_conflicts=True)
        shared += len({p.content_hash for p in prompts})
    return shared
