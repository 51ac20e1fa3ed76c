"""Conversations as the labeling data stores them, and the normalized
hashes that find duplicates.

Two prompts are the same when they differ only in case, Unicode form or
whitespace: imports of one data set from different tools differ in exactly
those ways, and an annotator should not rank the same question twice.
"""

import hashlib
import json
import re
import unicodedata

from core.text import clean_text

ROLES = ("system", "user", "assistant")
_SPACE = re.compile(r"\s+")


def clean_answer(text: str) -> str:
    """An answer a person wrote, as datasets hold it: clean text with Unix
    line ends (browsers send form text with CRLF, which would otherwise
    reach the SFT data)."""
    return clean_text(text).replace("\r\n", "\n").replace("\r", "\n")


def normalize(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def text_hash(text: str) -> str:
    return _sha256(normalize(text))


def messages_hash(messages: list[dict]) -> str:
    return _sha256(json.dumps([[m["role"], normalize(m["content"])] for m in messages], ensure_ascii=False))


def clean_messages(value) -> list[dict]:
    """A valid prompt conversation from `value`, or ValueError saying what
    is wrong with it: a list of {role, content} objects, an optional system
    message first, then user and assistant turns in turn, ending with a user
    turn, no text empty. Chat templates refuse other shapes. Keys other than
    role and content are dropped; control characters are removed."""
    if not isinstance(value, list) or not value:
        raise ValueError("the conversation must be a non-empty list of messages")
    messages = []
    for index, message in enumerate(value):
        where = f"message {index + 1}"
        if not isinstance(message, dict):
            raise ValueError(f"{where} is not an object")
        role, content = message.get("role"), message.get("content")
        if role is None or content is None:
            raise ValueError(f'{where} needs "role" and "content"')
        if role not in ROLES:
            raise ValueError(f"{where} has role {role!r}; expected one of {', '.join(ROLES)}")
        if not isinstance(content, str):
            raise ValueError(f'{where}: "content" must be a string')
        content = clean_text(content)
        if not content.strip():
            raise ValueError(f"{where} has empty text")
        messages.append({"role": role, "content": content})
    turns = messages[1:] if messages[0]["role"] == "system" else messages
    for index, message in enumerate(turns):
        expected = "user" if index % 2 == 0 else "assistant"
        if message["role"] != expected:
            offset = len(messages) - len(turns)
            raise ValueError(f"message {index + offset + 1} should be a {expected} turn (turns alternate, user first)")
    if not turns or turns[-1]["role"] != "user":
        raise ValueError("the conversation must end with a user turn")
    return messages
