"""OpenAI's finish_reason comes from why the engine ended the answer, which
the worker stores, not from comparing the token count with max_tokens: an
answer that ends on its own exactly at the limit stopped."""

import pytest

from chat.models import MessageStatus
from openai_api.views import _finish_reason


@pytest.mark.parametrize(
    "status, engine_reason, expected",
    [
        (MessageStatus.COMPLETE, "length", "length"),
        (MessageStatus.COMPLETE, "stop", "stop"),
        (MessageStatus.COMPLETE, "", "stop"),  # answers stored before the reason was
        (MessageStatus.MODERATED, "length", "content_filter"),
        (MessageStatus.STOPPED, "cancelled", "stop"),
    ],
)
def test_the_reason_is_the_engines(status, engine_reason, expected):
    message = {"status": status, "finish_reason": engine_reason, "completion_tokens": 16}
    assert _finish_reason(message) == expected
