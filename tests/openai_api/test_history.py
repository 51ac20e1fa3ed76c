"""What /v1/chat/completions takes as history (issue 15, item 1): bounded
in turns and characters, refused before anything is stored, and stored in
a fixed number of queries when taken."""

import json

import pytest

from chat.models import Conversation, Message, MessageStatus
from openai_api.requests import ApiError, parse_completion_request
from openai_api.services import api_key_create, completion_start
from usage.models import AnswerStart

pytestmark = pytest.mark.django_db


def history(turns: int, text: str = "a") -> list[dict]:
    return [
        *({"role": "user" if i % 2 == 0 else "assistant", "content": text} for i in range(turns)),
        {"role": "user", "content": "hi"},
    ]


@pytest.fixture
def post(client, user):
    _, raw = api_key_create(user=user, name="tests")

    def post(body: dict):
        return client.post(
            "/v1/chat/completions",
            data=json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {raw}",
        )

    return post


@pytest.fixture
def served(settings, tiny_model_dir):
    settings.CHAT_MODEL = str(tiny_model_dir)


def test_a_body_of_thousands_of_turns_is_refused_and_stores_nothing(post, served, settings):
    """It was stored turn by turn, then the generation worker re-rendered it
    quadratically; now it is refused when parsed."""
    response = post({"model": "", "messages": history(5000)})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "too_many_messages" and error["param"] == "messages"
    assert "5,001 messages" in error["message"] and f"at most {settings.CHAT_MAX_TURNS}" in error["message"]
    assert not Conversation.objects.exists() and not Message.objects.exists() and not AnswerStart.objects.exists()


@pytest.mark.parametrize(
    "messages,param,code",
    [
        (
            [{"role": "user", "content": "x" * 101}, {"role": "user", "content": "hi"}],
            "messages[0].content",
            "message_too_long",
        ),
        (
            [
                {"role": "system", "content": "s" * 60},
                {"role": "developer", "content": "s" * 60},
                {"role": "user", "content": "hi"},
            ],
            "messages",
            "system_prompt_too_long",
        ),
        (history(6, "y" * 90), "messages", "context_length_exceeded"),
    ],
)
def test_too_big_a_turn_system_prompt_or_history_is_named(messages, param, code, settings, monkeypatch):
    settings.CHAT_MAX_MESSAGE_CHARS = 100
    settings.CHAT_MAX_CONTEXT_CHARS = 400
    monkeypatch.setattr("openai_api.requests.SYSTEM_PROMPT_MAX_CHARS", 100)
    with pytest.raises(ApiError) as refused:
        parse_completion_request({"messages": messages})
    assert (refused.value.status, refused.value.param, refused.value.code) == (400, param, code)


def test_a_history_at_the_limits_is_taken(settings):
    settings.CHAT_MAX_TURNS = 9
    settings.CHAT_MAX_CONTEXT_CHARS = 9 * 10
    parsed = parse_completion_request({"messages": history(8, "z" * 10)[:-1] + [{"role": "user", "content": "z" * 10}]})
    assert len(parsed.turns) == 8


def test_a_refused_request_stores_nothing(post, served, settings):
    """The history was stored before the limits were checked, then deleted
    again when they refused."""
    settings.CHAT_RATE_LIMIT_PER_MINUTE = 0
    response = post({"model": "", "messages": history(40)})
    assert response.status_code == 429 and response.json()["error"]["code"] == "rate_limited"
    assert not Conversation.objects.exists() and not Message.objects.exists() and not AnswerStart.objects.exists()


def test_the_history_is_stored_in_a_fixed_number_of_queries(user, captured_tasks, django_assert_max_num_queries):
    joined = []
    counts = {}
    for turns in (2, 200):
        request = parse_completion_request({"messages": [{"role": "system", "content": "Be brief."}, *history(turns)]})
        with django_assert_max_num_queries(30) as queries:
            answer = completion_start(user=user, request=request, on_stored=joined.append)
        counts[turns] = len(queries)
    assert counts[200] - counts[2] < 10, "no query per turn (SQLite bulk writes in batches)"
    path = list(Message.objects.filter(conversation=answer.conversation).order_by("pk"))
    assert [m.role for m in path[:4]] == ["user", "assistant", "user", "assistant"] and len(path) == 202
    assert all(child.parent_id == parent.pk for parent, child in zip(path, path[1:], strict=False))
    assert path[0].parent_id is None and path[-1] == answer and path[-2].status == MessageStatus.PENDING
    assert answer.conversation.system_prompt == "Be brief." and answer.conversation.title == "API: hi"
    assert joined[-1] == answer.conversation, "the watcher heard of the conversation"
