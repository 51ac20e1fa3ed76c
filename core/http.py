"""Reading the JSON bodies of the chat and arena APIs: a clear UserError
for every way a body can be wrong, never a 500."""

import json

from .errors import UserError


def json_body(request, *, max_bytes: int) -> dict:
    if len(request.body) > max_bytes:
        raise UserError("too_long", "The request body is too large.")
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise UserError("invalid_json", "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise UserError("invalid_request", "The request body must be a JSON object.")
    return data
