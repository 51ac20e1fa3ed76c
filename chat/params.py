"""Validation of generation settings, shared by the HTTP API and the
WebSocket so both answer bad values with the same clear message: a
conversation's own, the user's defaults and their saved presets (the one
home of each limit)."""

from django.conf import settings

from core.errors import UserError
from core.text import clean_text

SYSTEM_PROMPT_MAX_CHARS = 8000
TITLE_MAX_CHARS = 200
PRESET_NAME_MAX_CHARS = 60
# Enough for a personal library of styles; a picker longer than this stops being one.
PRESETS_PER_USER_MAX = 30
# What a chat's answers are made with: what the defaults and a preset hold.
GENERATION_SETTINGS = ("system_prompt", "temperature", "top_p", "max_new_tokens")


def _number(raw, name, kind, low, high):
    try:
        value = kind(raw)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(Infinity), float(10**400)
        raise UserError("invalid_params", f"{name} must be a number.") from None
    if isinstance(raw, bool) or not (low <= value <= high) or value != value:
        raise UserError("invalid_params", f"{name} must be between {low} and {high}.")
    return value


def clean_conversation_settings(raw) -> dict:
    """Returns the valid subset of `raw`; raises UserError on any bad or unknown key."""
    if not isinstance(raw, dict):
        raise UserError("invalid_params", "Settings must be an object.")
    known = {"title", "system_prompt", "temperature", "top_p", "max_new_tokens"}
    unknown = set(raw) - known
    if unknown:
        raise UserError("invalid_params", f"Unknown setting: {', '.join(sorted(unknown))}.")
    clean = {}
    if "title" in raw:
        title = raw["title"]
        if not isinstance(title, str) or not clean_text(title).strip():
            raise UserError("invalid_params", "The title must be non-empty text.")
        clean["title"] = clean_text(title).strip()[:TITLE_MAX_CHARS]
    if "system_prompt" in raw:
        prompt = raw["system_prompt"]
        if not isinstance(prompt, str) or len(prompt) > SYSTEM_PROMPT_MAX_CHARS:
            raise UserError(
                "invalid_params", f"The system prompt must be text of at most {SYSTEM_PROMPT_MAX_CHARS} characters."
            )
        clean["system_prompt"] = clean_text(prompt)
    if "temperature" in raw:
        clean["temperature"] = _number(raw["temperature"], "Temperature", float, 0.0, 2.0)
    if "top_p" in raw:
        clean["top_p"] = _number(raw["top_p"], "Top-p", float, 0.01, 1.0)
    if "max_new_tokens" in raw:
        clean["max_new_tokens"] = _number(
            raw["max_new_tokens"], "Max new tokens", int, 1, settings.GENERATION_MAX_NEW_TOKENS_LIMIT
        )
    return clean


def clean_generation_settings(raw) -> dict:
    """The four generation settings, every one of them, valid: what the
    user's defaults and a preset store (a partial set would leave the rest
    to whatever the site's defaults are on the day it is used)."""
    clean = clean_conversation_settings(raw)
    missing = [key for key in GENERATION_SETTINGS if key not in clean]
    if "title" in clean or missing:
        raise UserError("invalid_params", f"Settings must hold exactly: {', '.join(GENERATION_SETTINGS)}.")
    return clean


def clean_preset_name(raw) -> str:
    if not isinstance(raw, str) or not clean_text(raw).strip():
        raise UserError("invalid_preset", "Name the preset.")
    name = " ".join(clean_text(raw).split())
    if len(name) > PRESET_NAME_MAX_CHARS:
        raise UserError("invalid_preset", f"A preset's name is at most {PRESET_NAME_MAX_CHARS} characters.")
    return name
