"""Text as it is stored: no NUL or other control characters (PostgreSQL
refuses NUL in text, and none of them means anything in a chat), no lone
surrogates (JSON can escape them, UTF-8 cannot encode them), but tabs and
line breaks kept."""

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def clean_text(text: str) -> str:
    return _CONTROL.sub("", text)
