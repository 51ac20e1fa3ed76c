"""The readers of other apps' chat exports: ChatGPT's `conversations.json`
(alone or in the export's zip) and Open WebUI's "Export chats" file. They
turn a file into ImportedConversation trees and write nothing; storing them
is chat.imports_service's job. Every limit is checked before the work it
bounds (the file's size before it is read, the number of conversations
before any is walked, each conversation's nodes before its tree is), and
any fault raises UserError naming the conversation, so a bad file is
refused whole.

Both formats hold a tree per conversation: ChatGPT's `mapping` of nodes
with `parent`/`children` and a `current_node`, Open WebUI's
`history.messages` with `parentId`/`childrenIds` and a `currentId`. The tree
is kept: edits and regenerations stay branches, and the branch the user
last looked at is the current one. What chat cannot show is left out and
counted: system and tool turns, parts that are not text (images, files),
messages of another kind (code the model ran, its hidden reasoning), and
empty ones. A turn left out hands its children to its parent; two turns of
the same role then one after another on a single line (an answer split by
a tool call) become one.
"""

import io
import json
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings

from core.errors import UserError
from core.text import clean_text

from .models import ChatImport, Conversation

CHATGPT_FILE = "conversations.json"
_ZIP_MAGIC = b"PK\x03\x04"
_TITLE_CHARS = Conversation._meta.get_field("title").max_length
UNTITLED = "Imported chat"

# What the counts of skipped content are called on the imports page.
SKIPPED_LABELS = {
    "system": "system messages",
    "tool": "tool messages",
    "non_text_messages": "messages that are not text (code runs, reasoning, browsing)",
    "non_text_parts": "images, files and other parts that are not text",
    "empty": "empty messages",
    "empty_conversations": "conversations with no text",
}


@dataclass
class ImportedMessage:
    key: str  # the export's id of the node
    parent: str | None  # the key of the kept message above it
    role: str  # "user" or "assistant"
    content: str
    created_at: datetime | None
    model_name: str = ""


@dataclass
class ImportedConversation:
    title: str
    created_at: datetime | None
    updated_at: datetime | None
    # Parents before their children, siblings oldest first.
    messages: list[ImportedMessage]
    current: str | None  # the key of the current leaf


@dataclass
class ParsedExport:
    format: str  # ChatImport.Format
    conversations: list[ImportedConversation]
    skipped: Counter = field(default_factory=Counter)

    @property
    def message_count(self) -> int:
        return sum(len(c.messages) for c in self.conversations)

    def counts(self) -> dict:
        return {
            "conversations": len(self.conversations),
            "messages": self.message_count,
            "skipped": dict(self.skipped),
        }


def _limit_bytes() -> int:
    return settings.CHAT_IMPORT_MAX_MB * 1024 * 1024


def _too_large() -> UserError:
    return UserError("too_large", f"The export is larger than {settings.CHAT_IMPORT_MAX_MB} MB.")


def export_bytes(data: bytes) -> bytes:
    """The JSON of an upload: the file itself, or conversations.json out of
    a ChatGPT export's zip (its images are not read), at most
    CHAT_IMPORT_MAX_MB either way; the size a zip declares is checked before
    anything is unpacked, and what it unpacks is cut off at the limit."""
    if len(data) > _limit_bytes():
        raise _too_large()
    if not data.startswith(_ZIP_MAGIC):
        return data
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = [n for n in archive.namelist() if n.rsplit("/", 1)[-1] == CHATGPT_FILE]
            if not names:
                raise UserError("no_conversations", f"The zip holds no {CHATGPT_FILE}: is it a ChatGPT export?")
            info = archive.getinfo(min(names, key=len))  # the top-level one
            if info.file_size > _limit_bytes():
                raise _too_large()
            with archive.open(info) as member:
                unpacked = member.read(_limit_bytes() + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError):
        raise UserError("bad_zip", "The zip cannot be unpacked.") from None
    if len(unpacked) > _limit_bytes():
        raise _too_large()
    return unpacked


def export_parse(data: bytes) -> ParsedExport:
    """The conversations of an export's JSON (export_bytes), its format told
    by its shape. Raises UserError for anything but a whole, valid export."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise UserError(
            "not_utf8", "The file is not UTF-8 text: upload conversations.json or the export's zip."
        ) from None
    except json.JSONDecodeError as error:
        raise UserError(
            "invalid_json", f"The file is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})."
        ) from None
    if isinstance(document, dict):  # one chat exported alone
        document = [document]
    if not isinstance(document, list) or not document:
        raise UserError("not_an_export", "The file holds no conversations: expected a JSON list of chats.")
    if len(document) > settings.CHAT_IMPORT_MAX_CONVERSATIONS:
        raise UserError(
            "too_many_conversations",
            f"The export holds {len(document):,} conversations; the limit is "
            f"{settings.CHAT_IMPORT_MAX_CONVERSATIONS:,} per import.",
        )
    first = document[0]
    if isinstance(first, dict) and "mapping" in first:
        export_format, read = ChatImport.Format.CHATGPT, _chatgpt_conversation
    elif isinstance(first, dict) and ("chat" in first or "history" in first):
        export_format, read = ChatImport.Format.OPEN_WEBUI, _open_webui_conversation
    else:
        raise UserError(
            "unknown_format", "This is neither a ChatGPT export (conversations.json) nor an Open WebUI chat export."
        )
    parsed = ParsedExport(format=export_format, conversations=[])
    for number, item in enumerate(document, start=1):
        if not isinstance(item, dict):
            raise UserError("invalid_conversation", f"Conversation {number} is not a JSON object.")
        title = _title(item.get("title"))
        where = f"Conversation {number} (“{title}”)"
        conversation = read(item, where, parsed.skipped)
        if conversation.messages:
            parsed.conversations.append(conversation)
        else:
            parsed.skipped["empty_conversations"] += 1
    if not parsed.conversations:
        raise UserError("nothing_to_import", "The export holds no conversation with text in it.")
    return parsed


# --- Common -------------------------------------------------------------------


def _title(value) -> str:
    title = " ".join(clean_text(value).split()) if isinstance(value, str) else ""
    return title[:_TITLE_CHARS] or UNTITLED


def _time(value) -> datetime | None:
    """An export's timestamp, in seconds since the epoch (ChatGPT's floats,
    Open WebUI's integers) or, told by its size, in milliseconds or
    nanoseconds; None when absent or not a time."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    for scale in (1, 1e3, 1e6, 1e9):
        if value / scale < 1e11:  # before the year 5138: seconds
            try:
                return datetime.fromtimestamp(value / scale, tz=UTC)
            except (OverflowError, OSError, ValueError):
                return None
    return None


def _check_size(nodes, where: str) -> None:
    if not isinstance(nodes, dict):
        raise UserError("invalid_conversation", f"{where} has no message tree.")
    if len(nodes) > settings.CHAT_IMPORT_MAX_MESSAGES:
        raise UserError(
            "too_many_messages",
            f"{where} holds {len(nodes):,} messages; "
            f"the limit is {settings.CHAT_IMPORT_MAX_MESSAGES:,} per conversation.",
        )


@dataclass
class _Node:
    key: str
    parent: str | None
    order: int  # its place among its siblings in the export
    time: datetime | None
    # None: left out (its children go to its parent).
    role: str | None
    content: str = ""
    model_name: str = ""


def _tree(nodes: list[_Node], current: str | None, where: str) -> tuple[list[ImportedMessage], str | None]:
    """The kept messages of a conversation, parents first, siblings in the
    export's order, and its current leaf: the export's current node, or the
    nearest kept message above it, followed down its newest children; the
    newest leaf when the export names none."""
    by_key = {node.key: node for node in nodes}
    children: dict[str | None, list[_Node]] = {}
    for node in nodes:
        parent = node.parent if node.parent in by_key else None
        children.setdefault(parent, []).append(node)
    for siblings in children.values():
        siblings.sort(key=lambda n: n.order)
    kept: list[ImportedMessage] = []
    kept_by_key: dict[str, ImportedMessage] = {}
    kept_children: dict[str | None, list[str]] = {}
    # Where a node's content went: itself, the kept message above it, or
    # the message it was merged into.
    landed: dict[str, str | None] = {}
    stack = [(node, None) for node in reversed(children.get(None, []))]
    while stack:
        node, above = stack.pop()
        landed[node.key] = above
        if node.role is not None:
            parent = kept_by_key.get(above) if above is not None else None
            if parent is not None and parent.role == node.role and not kept_children.get(parent.key):
                parent.content = f"{parent.content}\n\n{node.content}"
                parent.model_name = parent.model_name or node.model_name
            else:
                message = ImportedMessage(
                    key=node.key,
                    parent=above,
                    role=node.role,
                    content=node.content,
                    created_at=node.time or (parent.created_at if parent else None),
                    model_name=node.model_name,
                )
                kept.append(message)
                kept_by_key[node.key] = message
                kept_children.setdefault(above, []).append(node.key)
                landed[node.key] = node.key
        for child in reversed(children.get(node.key, [])):
            stack.append((child, landed[node.key]))
    if len(landed) != len(nodes):
        raise UserError("invalid_conversation", f"{where}: its messages do not form a tree.")
    for message in kept:
        _check_length(message, where)
    leaf = landed.get(current) if current in landed else None
    if leaf is None and kept_children.get(None):
        leaf = kept_children[None][-1]
    while leaf is not None and kept_children.get(leaf):
        leaf = kept_children[leaf][-1]
    return kept, leaf


def _check_length(message: ImportedMessage, where: str) -> None:
    if len(message.content) > settings.CHAT_MAX_MESSAGE_CHARS:
        raise UserError(
            "message_too_long",
            f"{where}: {'an answer' if message.role == 'assistant' else 'a user message'} is "
            f"{len(message.content):,} characters long; "
            f"the limit is {settings.CHAT_MAX_MESSAGE_CHARS:,}.",
        )


def _text(value) -> str:
    return clean_text(value).strip() if isinstance(value, str) else ""


# --- ChatGPT --------------------------------------------------------------------


def _chatgpt_node(key: str, node: dict, order: int, where: str, skipped: Counter) -> _Node:
    parent = node.get("parent")
    if parent is not None and not isinstance(parent, str):
        raise UserError("invalid_conversation", f"{where}: node {key} has a parent that is not an id.")
    message = node.get("message")
    base = _Node(key=key, parent=parent, order=order, time=None, role=None)
    if message is None:  # the tree's root holds no message
        return base
    if not isinstance(message, dict):
        raise UserError("invalid_conversation", f"{where}: node {key} holds a message that is not an object.")
    base.time = _time(message.get("create_time"))
    author = message.get("author")
    role = author.get("role") if isinstance(author, dict) else None
    if role in ("system", "tool"):
        skipped[role] += 1
        return base
    if role not in ("user", "assistant"):
        raise UserError("invalid_conversation", f"{where}: node {key} has no author role.")
    if (message.get("metadata") or {}).get("is_visually_hidden_from_conversation"):
        skipped["system"] += 1  # context ChatGPT adds and never shows
        return base
    content = message.get("content")
    if not isinstance(content, dict):
        raise UserError("invalid_conversation", f"{where}: node {key} has no content.")
    parts = content.get("parts")
    if content.get("content_type") not in ("text", "multimodal_text") or not isinstance(parts, list):
        skipped["non_text_messages"] += 1
        return base
    texts = [part for part in parts if isinstance(part, str)]
    skipped["non_text_parts"] += len(parts) - len(texts)
    text = "\n".join(_text(part) for part in texts if _text(part))
    if not text:
        skipped["empty"] += 1
        return base
    model = (message.get("metadata") or {}).get("model_slug")
    base.role, base.content = role, text
    base.model_name = model if role == "assistant" and isinstance(model, str) else ""
    return base


def _chatgpt_conversation(item: dict, where: str, skipped: Counter) -> ImportedConversation:
    mapping = item.get("mapping")
    _check_size(mapping, where)
    positions = {}
    for node in mapping.values():
        if isinstance(node, dict) and isinstance(node.get("children"), list):
            for index, child in enumerate(node["children"]):
                if isinstance(child, str):
                    positions[child] = index
    nodes = []
    for key, node in mapping.items():
        if not isinstance(node, dict):
            raise UserError("invalid_conversation", f"{where}: node {key} is not an object.")
        nodes.append(_chatgpt_node(str(key), node, positions.get(key, 0), where, skipped))
    current = item.get("current_node")
    messages, leaf = _tree(nodes, current if isinstance(current, str) else None, where)
    return ImportedConversation(
        title=_title(item.get("title")),
        created_at=_time(item.get("create_time")),
        updated_at=_time(item.get("update_time")),
        messages=messages,
        current=leaf,
    )


# --- Open WebUI -----------------------------------------------------------------


def _open_webui_text(message: dict, skipped: Counter) -> str:
    """A message's text: `content` is a string, or in some versions a list
    of OpenAI-style parts; attached files and images are counted, not read."""
    content = message.get("content")
    if isinstance(content, list):
        texts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        skipped["non_text_parts"] += len(content) - len(texts)
        content = "\n".join(_text(t) for t in texts if _text(t))
    files = message.get("files")
    if isinstance(files, list):
        skipped["non_text_parts"] += len(files)
    return _text(content)


def _open_webui_messages(chat: dict, where: str) -> tuple[dict, str | None]:
    """`history.messages` and `currentId`; a chat of the old shape, with
    only a `messages` list, is one line of turns."""
    history = chat.get("history")
    if isinstance(history, dict) and isinstance(history.get("messages"), dict):
        current = history.get("currentId")
        return history["messages"], current if isinstance(current, str) else None
    turns = chat.get("messages")
    if not isinstance(turns, list):
        raise UserError("invalid_conversation", f"{where} has no message history.")
    messages, parent = {}, None
    for index, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise UserError("invalid_conversation", f"{where}: message {index + 1} is not an object.")
        key = str(turn.get("id") or index)
        messages[key] = {**turn, "id": key, "parentId": parent}
        parent = key
    return messages, parent


def _open_webui_conversation(item: dict, where: str, skipped: Counter) -> ImportedConversation:
    chat = item.get("chat") if isinstance(item.get("chat"), dict) else item
    messages, current = _open_webui_messages(chat, where)
    _check_size(messages, where)
    positions = {}
    for message in messages.values():
        if isinstance(message, dict) and isinstance(message.get("childrenIds"), list):
            for index, child in enumerate(message["childrenIds"]):
                if isinstance(child, str):
                    positions[child] = index
    nodes = []
    for key, message in messages.items():
        if not isinstance(message, dict):
            raise UserError("invalid_conversation", f"{where}: message {key} is not an object.")
        parent = message.get("parentId")
        if parent is not None and not isinstance(parent, str):
            raise UserError("invalid_conversation", f"{where}: message {key} has a parent that is not an id.")
        node = _Node(
            key=str(key), parent=parent, order=positions.get(key, 0), time=_time(message.get("timestamp")), role=None
        )
        role = message.get("role")
        if role == "system":
            skipped["system"] += 1
        elif role not in ("user", "assistant"):
            raise UserError("invalid_conversation", f"{where}: message {key} has no role.")
        elif not (text := _open_webui_text(message, skipped)):
            skipped["empty"] += 1
        else:
            model = message.get("model")
            node.role, node.content = role, text
            node.model_name = model if role == "assistant" and isinstance(model, str) else ""
        nodes.append(node)
    messages_out, leaf = _tree(nodes, current, where)
    return ImportedConversation(
        title=_title(item.get("title") or chat.get("title")),
        created_at=_time(item.get("created_at") or chat.get("timestamp")),
        updated_at=_time(item.get("updated_at") or item.get("created_at") or chat.get("timestamp")),
        messages=messages_out,
        current=leaf,
    )
