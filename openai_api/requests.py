"""Parsing an OpenAI chat-completions request body into what the chat
services take, with OpenAI-style errors for anything malformed or too big
(CHAT_MAX_TURNS messages, each of CHAT_MAX_MESSAGE_CHARS, the system prompt
of SYSTEM_PROMPT_MAX_CHARS, CHAT_MAX_CONTEXT_CHARS in all): a history is
refused here, before anything is stored or any model reads it."""

from dataclasses import dataclass, field

from django.conf import settings

from chat.params import SYSTEM_PROMPT_MAX_CHARS, clean_conversation_settings
from core.errors import UserError
from core.text import clean_text

ROLES = ("system", "developer", "user", "assistant")
MAX_STOP_STRINGS = 4
# What this server does with every field: `_SUPPORTED` are honoured; the
# rest of OpenAI's fields are taken only at a value that asks for nothing
# (clients often send the defaults), and refused by name otherwise, so a
# client that asks for tools or JSON output is told rather than silently
# answered in plain text. A field OpenAI does not know either is refused as
# OpenAI refuses it.
_SUPPORTED = frozenset(
    {
        "model",
        "messages",
        "temperature",
        "top_p",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "n",
        "stream",
        "stream_options",
        "store",
        "user",
        "metadata",
    }
)
_ASKS_FOR_NOTHING = {
    "frequency_penalty": lambda v: v in (None, 0),
    "presence_penalty": lambda v: v in (None, 0),
    "logprobs": lambda v: v in (None, False),
    "top_logprobs": lambda v: v in (None, 0),
    "logit_bias": lambda v: not v,
    "seed": lambda v: v is None,
    "tools": lambda v: not v,
    "tool_choice": lambda v: v in (None, "none", "auto"),
    "parallel_tool_calls": lambda v: True,  # means nothing without tools
    "functions": lambda v: not v,
    "function_call": lambda v: v in (None, "none", "auto"),
    "response_format": lambda v: v is None or (isinstance(v, dict) and v.get("type") == "text"),
    "modalities": lambda v: v in (None, ["text"]),
    "audio": lambda v: v is None,
    "prediction": lambda v: v is None,
    "reasoning_effort": lambda v: v is None,
    "service_tier": lambda v: v in (None, "auto", "default"),
    "web_search_options": lambda v: v is None,
}


class ApiError(Exception):
    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        param: str | None = None,
        code: str | None = None,
        kind: str = "invalid_request_error",
    ):
        super().__init__(message)
        self.message, self.status, self.param, self.code, self.kind = message, status, param, code, kind

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


@dataclass
class CompletionRequest:
    system_prompt: str
    turns: list[dict]  # user/assistant turns before the last user message
    content: str  # the last user message
    settings: dict  # conversation settings: temperature, top_p, max_new_tokens
    stop: list[str] = field(default_factory=list)
    stream: bool = False
    include_usage: bool = False
    store: bool = True
    model: str = ""


def _text(content, index: int) -> str:
    """Message content as text (a string, or a list of text parts), as it is stored."""
    if isinstance(content, str):
        return clean_text(content)
    if isinstance(content, list) and all(isinstance(p, dict) and p.get("type") == "text" for p in content):
        return clean_text("".join(str(p.get("text", "")) for p in content))
    raise ApiError("Only text content is supported.", param=f"messages[{index}].content")


def _alternating(turns: list[dict]) -> list[dict]:
    """Merges consecutive turns of one role, so the history alternates user,
    assistant, ..., user, as the chat tree stores it."""
    merged: list[dict] = []
    for turn in turns:
        if merged and merged[-1]["role"] == turn["role"]:
            merged[-1] = {"role": turn["role"], "content": merged[-1]["content"] + "\n\n" + turn["content"]}
        else:
            merged.append(dict(turn))
    if merged[0]["role"] == "assistant":
        merged.insert(0, {"role": "user", "content": ""})
    return merged


def _refuse_unsupported(body: dict) -> None:
    for name, value in body.items():
        if name in _SUPPORTED:
            continue
        asks_for_nothing = _ASKS_FOR_NOTHING.get(name)
        if asks_for_nothing is None:
            raise ApiError(f"Unrecognized request argument supplied: {str(name)[:80]}", param=str(name)[:80])
        if not asks_for_nothing(value):
            raise ApiError(f"'{name}' is not supported by this server.", param=name, code="unsupported_parameter")


def parse_completion_request(body) -> CompletionRequest:
    if not isinstance(body, dict):
        raise ApiError("The request body must be a JSON object.")
    _refuse_unsupported(body)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError("'messages' must be a non-empty list.", param="messages")
    if len(messages) > settings.CHAT_MAX_TURNS:
        raise ApiError(
            f"'messages' holds {len(messages):,} messages; this server takes at most {settings.CHAT_MAX_TURNS:,}.",
            param="messages",
            code="too_many_messages",
        )
    system, turns = [], []
    total_chars = 0
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise ApiError(f"messages[{index}] needs a role of {', '.join(ROLES)}.", param=f"messages[{index}].role")
        text = _text(message.get("content"), index)
        if len(text) > settings.CHAT_MAX_MESSAGE_CHARS:
            raise ApiError(
                f"messages[{index}] is {len(text):,} characters long; "
                f"the limit is {settings.CHAT_MAX_MESSAGE_CHARS:,}.",
                param=f"messages[{index}].content",
                code="message_too_long",
            )
        total_chars += len(text)
        if message["role"] in ("system", "developer"):
            system.append(text)
        else:
            turns.append({"role": message["role"], "content": text})
    if total_chars > settings.CHAT_MAX_CONTEXT_CHARS:
        raise ApiError(
            f"The messages hold {total_chars:,} characters together; the limit is {settings.CHAT_MAX_CONTEXT_CHARS:,}.",
            param="messages",
            code="context_length_exceeded",
        )
    system_prompt = "\n\n".join(system)
    if len(system_prompt) > SYSTEM_PROMPT_MAX_CHARS:
        raise ApiError(
            f"The system prompt (the system and developer messages together) is {len(system_prompt):,} characters "
            f"long; the limit is {SYSTEM_PROMPT_MAX_CHARS:,}.",
            param="messages",
            code="system_prompt_too_long",
        )
    if not turns or turns[-1]["role"] != "user":
        raise ApiError("The last message must come from the user.", param="messages")
    turns = _alternating(turns)

    raw_settings = {}
    for ours, theirs in (("temperature", "temperature"), ("top_p", "top_p")):
        if body.get(theirs) is not None:
            raw_settings[ours] = body[theirs]
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    raw_settings["max_new_tokens"] = (
        max_tokens if max_tokens is not None else settings.GENERATION_DEFAULTS["max_new_tokens"]
    )
    try:
        clean = clean_conversation_settings(raw_settings)
    except UserError as exc:
        raise ApiError(exc.message, param="max_tokens" if "tokens" in exc.message else None) from None

    stop = body.get("stop") or []
    if isinstance(stop, str):
        stop = [stop]
    if (
        not isinstance(stop, list)
        or len(stop) > MAX_STOP_STRINGS
        or not all(isinstance(s, str) and clean_text(s) for s in stop)
    ):
        raise ApiError(f"'stop' must be a string or a list of up to {MAX_STOP_STRINGS} strings.", param="stop")
    stop = [clean_text(s) for s in stop]
    if body.get("n", 1) != 1:
        raise ApiError("Only n=1 is supported.", param="n")
    stream_options = body.get("stream_options") or {}
    return CompletionRequest(
        system_prompt=system_prompt,
        turns=turns[:-1],
        content=turns[-1]["content"],
        settings=clean,
        stop=stop,
        stream=bool(body.get("stream", False)),
        include_usage=bool(isinstance(stream_options, dict) and stream_options.get("include_usage")),
        store=body.get("store", True) is not False,
        model=str(body.get("model") or ""),
    )
