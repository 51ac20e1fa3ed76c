"""The official `openai` package against the live stack: the web role, Redis and
a Celery worker running the tiny model."""

import openai
import pytest

from chat.models import Conversation, Message
from openai_api.services import api_key_create, api_key_revoke

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.fixture
def api(live_server_url, user):
    key, raw = api_key_create(user=user, name="tests")
    client = openai.OpenAI(base_url=live_server_url + "/v1", api_key=raw, max_retries=0, timeout=60)
    client.key = key
    return client


def test_models_lists_the_served_model(api, tiny_model_dir):
    assert [m.id for m in api.models.list().data] == [str(tiny_model_dir)]


def test_completion_without_streaming(api):
    result = api.chat.completions.create(
        model="",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}],
        max_tokens=12,
    )
    choice = result.choices[0]
    assert choice.message.role == "assistant" and choice.message.content
    assert choice.finish_reason == "length"
    assert result.usage.completion_tokens == 12 and result.usage.prompt_tokens > 0
    answer = Message.objects.get(role="assistant")
    assert answer.content == choice.message.content and answer.conversation.system_prompt == "Be brief."


def test_completion_streams_in_chunks(api):
    stream = api.chat.completions.create(
        model="",
        messages=[{"role": "user", "content": "Tell me a story"}],
        max_tokens=200,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) >= 2
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["length"]
    assert chunks[-1].usage.completion_tokens == 200
    assert Message.objects.get(role="assistant").content == text


def test_flagged_input_gets_the_template_and_never_reaches_the_model(api):
    result = api.chat.completions.create(model="", messages=[{"role": "user", "content": "I want to kill myself"}])
    assert result.choices[0].finish_reason == "content_filter"
    answer = Message.objects.get(role="assistant")
    assert result.choices[0].message.content == answer.content and answer.model_name == ""


def test_revoked_key_is_refused(api):
    api_key_revoke(key=api.key)
    with pytest.raises(openai.AuthenticationError):
        api.chat.completions.create(model="", messages=[{"role": "user", "content": "Hello"}])
    assert not Conversation.objects.exists()


def test_unknown_model_and_store_false(api):
    with pytest.raises(openai.NotFoundError):
        api.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "Hello"}])
    api.chat.completions.create(model="", messages=[{"role": "user", "content": "Hello"}], max_tokens=4, store=False)
    assert not Conversation.objects.filter(deleted_at__isnull=True).exists()  # hidden now, purged after retention


def test_store_false_keeps_the_moderators_evidence(api, user):
    """Issue 15, item 7: `store: false` deleted the conversation, and its
    review item with it, after every flagged request."""
    from moderation.models import ReviewItem

    result = api.chat.completions.create(
        model="", messages=[{"role": "user", "content": "I want to kill myself"}], store=False
    )
    assert result.choices[0].finish_reason == "content_filter"
    item = ReviewItem.objects.get()
    assert item.text == "I want to kill myself" and item.owner_id == user.pk
    assert not Conversation.objects.filter(deleted_at__isnull=True).exists()


def test_tools_are_refused_by_name_and_nothing_is_stored(api):
    with pytest.raises(openai.BadRequestError) as refused:
        api.chat.completions.create(
            model="",
            messages=[{"role": "user", "content": "What is the weather in Paris?"}],
            tools=[{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
        )
    assert refused.value.body["param"] == "tools" and "not supported" in refused.value.body["message"]
    assert not Conversation.objects.exists()
