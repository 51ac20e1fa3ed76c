"""A user's chat export into their history (the readers are chat.imports).

The upload is read and checked whole in the request, so a bad file is
refused at once with its reason; a good one is kept under
DATA_DIR/chat-imports/ and a worker imports it (chat_import_run): an export
may hold thousands of conversations and every turn is then checked by
input moderation, more than a request should wait for. The import is all
or nothing: every conversation is stored in one transaction, so a failure
leaves none of them. Its record (ChatImport) stays, with its state, counts
and error, as the user's list of imports.

Imported turns are text the model did not write here, so they are stored as
a client's history is (chat.context: `source` "client"): until input
moderation has judged them the model does not read them and nothing shares
them. The worker then judges every turn, as it judges a client's, and a
flagged one is refused as a flagged message is. With the user's consent
(`shares_prompts`, off unless ticked) the receivers of
`chat_import_moderated` take the accepted prompts into the labeling pool.
"""

import logging
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

from core.errors import UserError
from moderation.pipeline import moderate_many

from .context import CLIENT, client_turn_moderation
from .imports import SKIPPED_LABELS, ParsedExport, export_bytes, export_parse
from .models import ChatImport, Conversation, Message, MessageStatus
from .presets import chat_defaults_values
from .signals import chat_import_moderated

logger = logging.getLogger(__name__)

UPLOADS_DIR = "chat-imports"
_STORE_BATCH = 1000
_MODERATION_BATCH = 64
# The generation settings an imported chat takes from the user's defaults
# if they continue it; not their default system prompt, which the
# conversation never had.
_SAMPLING = ("temperature", "top_p", "max_new_tokens")
IN_PROGRESS = (ChatImport.State.QUEUED, ChatImport.State.IMPORTING, ChatImport.State.MODERATING)


def _upload_path(chat_import: ChatImport) -> Path:
    return Path(settings.DATA_DIR) / UPLOADS_DIR / f"{chat_import.pk}.json"


def _failed(chat_import: ChatImport, message: str) -> None:
    chat_import.state = ChatImport.State.FAILED
    chat_import.error = message[:500]
    chat_import.finished_at = timezone.now()
    if chat_import.pk is None:  # refused at upload: recorded finished
        chat_import.save()
    else:
        chat_import.save(update_fields=["state", "error", "finished_at"])


def chat_import_create(*, user, upload, shares_prompts: bool) -> ChatImport:
    """Checks the uploaded export whole (chat.imports), keeps it and queues
    its import. Raises UserError for a file that cannot be imported, after
    recording the failed upload with its reason, and while another import
    of the user is in progress (one at a time: each may hold thousands of
    conversations for the worker)."""
    if ChatImport.objects.filter(owner=user, state__in=IN_PROGRESS).exists():
        raise _in_progress()
    file_name = Path(upload.name or "upload").name[:255]
    record = ChatImport(owner=user, file_name=file_name, file_size=upload.size, shares_prompts=shares_prompts)
    try:
        if upload.size > settings.CHAT_IMPORT_MAX_MB * 1024 * 1024:  # before a byte is read
            raise UserError("too_large", f"The export is larger than {settings.CHAT_IMPORT_MAX_MB} MB.")
        document = export_bytes(upload.read())
        parsed = export_parse(document)
    except UserError as error:
        record.format = ""
        _failed(record, error.message)
        raise
    record.format = parsed.format
    record.counts = parsed.counts()
    try:
        with transaction.atomic():
            record.save()
            path = _upload_path(record)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(document)
            transaction.on_commit(lambda: _dispatch(record))
    except IntegrityError:  # another upload of theirs started meanwhile
        raise _in_progress() from None
    return record


def _in_progress() -> UserError:
    return UserError("import_in_progress", "Your last import is still in progress: wait for it to finish.")


def _dispatch(chat_import: ChatImport) -> None:
    """Sends the import's task; when the broker cannot be reached the
    upload is given up with a reason to try again, not left waiting."""
    from .tasks import chat_import_task

    try:
        chat_import_task.apply_async((chat_import.pk,), task_id=f"chat-import-{chat_import.pk}")
    except (KombuError, RedisError, OSError) as error:
        logger.warning("Chat import %s was not queued (%s)", chat_import.pk, error)
        _upload_path(chat_import).unlink(missing_ok=True)
        _failed(chat_import, "The import could not be queued; upload the file again in a minute.")


def chat_import_run(*, import_id: int) -> None:
    """The worker's part: stores every conversation of a queued import in
    one transaction, then has input moderation judge every imported turn,
    then announces it (chat_import_moderated) for the receivers that share
    the prompts the user agreed to share. The upload is deleted once stored
    or given up. An import claimed already (a task delivered twice) is
    left alone."""
    if not ChatImport.objects.filter(pk=import_id, state=ChatImport.State.QUEUED).update(
        state=ChatImport.State.IMPORTING
    ):
        return
    chat_import = ChatImport.objects.select_related("owner").get(pk=import_id)
    path = _upload_path(chat_import)
    try:
        parsed = export_parse(path.read_bytes())
        with transaction.atomic():
            _store(chat_import, parsed)
    except UserError as error:
        _failed(chat_import, error.message)
        return
    except OSError:
        logger.exception("Chat import %s lost its upload", import_id)
        _failed(chat_import, "The uploaded file could not be read; upload it again.")
        return
    finally:
        path.unlink(missing_ok=True)
    chat_import.state = ChatImport.State.MODERATING
    chat_import.save(update_fields=["state"])
    try:
        _moderate(chat_import)
    except Exception:
        logger.exception("Chat import %s: moderation failed", import_id)
        _failed(
            chat_import,
            "The chats are imported, but checking them with moderation failed: until it is done on the chat, "
            "the model does not read their turns and none is shared.",
        )
        return
    replies = chat_import_moderated.send(sender=ChatImport, chat_import=chat_import)
    chat_import.counts["prompts_shared"] = sum(reply for _, reply in replies if isinstance(reply, int))
    chat_import.state = ChatImport.State.DONE
    chat_import.finished_at = timezone.now()
    chat_import.save(update_fields=["counts", "state", "finished_at"])


def _store(chat_import: ChatImport, parsed: ParsedExport) -> None:
    """Every conversation and its tree, with the export's times: rows are
    created in bulk (parents first), then their links and original times
    set in bulk (created_at and updated_at are set by Django on create)."""
    now = timezone.now()
    defaults = chat_defaults_values(user=chat_import.owner)
    sampling = {key: defaults[key] for key in _SAMPLING}
    conversations = Conversation.objects.bulk_create(
        [
            Conversation(owner=chat_import.owner, title=item.title, chat_import=chat_import, **sampling)
            for item in parsed.conversations
        ],
        batch_size=_STORE_BATCH,
    )
    rows, links = [], []
    for conversation, item in zip(conversations, parsed.conversations, strict=True):
        conversation.updated_at = item.updated_at or item.created_at or now
        conversation.created_at = item.created_at or conversation.updated_at
        for message in item.messages:
            rows.append(
                Message(
                    conversation=conversation,
                    role=message.role,
                    content=message.content,
                    status=MessageStatus.ACCEPTED if message.role == Message.Role.USER else MessageStatus.COMPLETE,
                    moderation=client_turn_moderation(),
                    model_name=message.model_name,
                )
            )
            links.append((conversation, item, message))
    Message.objects.bulk_create(rows, batch_size=_STORE_BATCH)
    by_key = {(id(item), message.key): row for row, (_, item, message) in zip(rows, links, strict=True)}
    for row, (conversation, item, message) in zip(rows, links, strict=True):
        row.parent = by_key[(id(item), message.parent)] if message.parent is not None else None
        row.created_at = message.created_at or conversation.created_at
    Message.objects.bulk_update(rows, ["parent", "created_at"], batch_size=_STORE_BATCH)
    for conversation, item in zip(conversations, parsed.conversations, strict=True):
        conversation.current_leaf = by_key[(id(item), item.current)] if item.current is not None else None
    Conversation.objects.bulk_update(
        conversations, ["current_leaf", "created_at", "updated_at"], batch_size=_STORE_BATCH
    )


def _moderate(chat_import: ChatImport) -> None:
    """Input moderation of every imported turn, in batches, as a client's
    turns are judged (chat.worker): the verdict replaces the "awaiting"
    mark, and a flagged user turn is refused. The counts say how far it
    got, for the imports page."""
    pending = Message.objects.filter(conversation__chat_import=chat_import, moderation__source=CLIENT).exclude(
        moderation__has_key="flagged"
    )
    ids = list(pending.order_by("pk").values_list("pk", flat=True))
    moderated = flagged = 0
    for start in range(0, len(ids), _MODERATION_BATCH):
        turns = list(Message.objects.filter(pk__in=ids[start : start + _MODERATION_BATCH]).order_by("pk"))
        verdicts = moderate_many([turn.content for turn in turns], "user")
        for turn, verdict in zip(turns, verdicts, strict=True):
            turn.moderation = {**verdict.as_dict(), **client_turn_moderation()}
            if verdict.flagged:
                flagged += 1
                if turn.role == Message.Role.USER:
                    turn.status = MessageStatus.FLAGGED
        moderated += len(turns)
        with transaction.atomic():
            Message.objects.bulk_update(turns, ["moderation", "status"])
            chat_import.counts.update(moderated=moderated, flagged=flagged)
            chat_import.save(update_fields=["counts"])


def chat_import_list(*, user, limit: int = 50) -> list[dict]:
    """The user's imports, newest first, as the imports page shows them:
    the record, what was left out of the file in words, and how far
    moderation got."""
    rows = []
    for item in ChatImport.objects.filter(owner=user)[:limit]:
        counts = item.counts
        rows.append(
            {
                "item": item,
                "in_progress": item.state in IN_PROGRESS,
                "skipped": [
                    (SKIPPED_LABELS.get(key, key), number)
                    for key, number in counts.get("skipped", {}).items()
                    if number
                ],
                "moderated": counts.get("moderated", 0),
                "messages": counts.get("messages", 0),
                "flagged": counts.get("flagged", 0),
                "prompts_shared": counts.get("prompts_shared"),
            }
        )
    return rows


def chat_imports_expire() -> int:
    """Gives up the imports still in progress CHAT_IMPORT_TIMEOUT_MINUTES
    after their upload: their task was lost or their worker died (a stored
    import is one transaction, so none is half-stored; turns not judged yet
    are judged when their chat goes on, as a client's). Their uploads are
    deleted and the user may upload again; returns how many. Housekeeping
    runs it (chatsite/tasks.py)."""
    cutoff = timezone.now() - timedelta(minutes=settings.CHAT_IMPORT_TIMEOUT_MINUTES)
    stale = list(ChatImport.objects.filter(state__in=IN_PROGRESS, created_at__lt=cutoff))
    for chat_import in stale:
        _upload_path(chat_import).unlink(missing_ok=True)
        stored = chat_import.state == ChatImport.State.MODERATING
        _failed(
            chat_import,
            "The import stopped before finishing"
            + (
                ": the chats are imported, but not all were checked with moderation."
                if stored
                else "; upload it again."
            ),
        )
    return len(stale)


def chat_import_sharing_stop(*, chat_import: ChatImport) -> None:
    """Withdraws the consent to share this import's prompts: nothing more of
    it goes to the labeling pool from now on; what was shared stays, as
    turning off sharing in settings leaves what chat shared."""
    ChatImport.objects.filter(pk=chat_import.pk).update(shares_prompts=False)
    chat_import.shares_prompts = False


def chat_imports_delete_all(*, user) -> None:
    """The user's import records and any upload still kept, when their
    account is deleted (chat.data_controls.account_delete): a file name can
    name its owner. Their conversations are deleted with the others."""
    for chat_import in ChatImport.objects.filter(owner=user):
        _upload_path(chat_import).unlink(missing_ok=True)
    ChatImport.objects.filter(owner=user).delete()
