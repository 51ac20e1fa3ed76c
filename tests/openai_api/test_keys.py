import pytest

from openai_api.models import ApiKey
from openai_api.requests import ApiError, parse_completion_request
from openai_api.services import api_key_authenticate, api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db


def test_keys_are_stored_hashed_and_can_be_revoked(user):
    key, raw = api_key_create(user=user, name="laptop")
    assert raw.startswith("cs-") and len(raw) > 40
    assert raw not in (key.key_hash, key.prefix) and key.prefix == raw[:11]
    assert api_key_authenticate(raw_key=raw) == user
    assert api_key_authenticate(raw_key=raw + "x") is None
    api_key_revoke(key=key)
    assert api_key_authenticate(raw_key=raw) is None


def test_unapproved_users_keys_do_not_work(make_user):
    user = make_user(username="pending", is_approved=False)
    _, raw = api_key_create(user=user, name="k")
    assert api_key_authenticate(raw_key=raw) is None


def test_key_pages_show_a_key_once_and_only_to_its_owner(client, user, make_user):
    client.force_login(user)
    response = client.post("/api-keys/new/", {"name": "ci"})
    key = ApiKey.objects.get()
    page = response.content.decode()
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    raw = page.split('data-testid="api-key-new">')[1].split("<")[0]
    assert raw.startswith(key.prefix) and api_key_authenticate(raw_key=raw) == user
    assert "Copy the key now" in page
    assert "Copy the key now" not in client.get("/api-keys/").content.decode()
    client.force_login(make_user(username="mallory"))
    assert client.post(f"/api-keys/{key.pk}/revoke/").status_code == 404
    key.refresh_from_db()
    assert key.is_active


def test_a_new_key_travels_in_no_cookie(client, user):
    """Django's messages wait for the next page in a signed, not encrypted,
    cookie, where proxies and access logs can record it."""
    from django.contrib.messages.storage.cookie import CookieStorage

    client.force_login(user)
    client.post("/api-keys/new/", {"name": "ci"})
    prefix = ApiKey.objects.get().prefix
    cookie = client.cookies.get("messages")
    waiting = CookieStorage(None)._decode(cookie.value) if cookie is not None and cookie.value else []
    assert [str(message) for message in waiting or [] if prefix in str(message)] == []
    assert prefix not in str(dict(client.session.items()))


def test_api_refuses_missing_and_bad_keys(client):
    response = client.post("/v1/chat/completions", data={"messages": []}, content_type="application/json")
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"
    response = client.get("/v1/models", HTTP_AUTHORIZATION="Bearer cs-nope")
    assert response.status_code == 401


@pytest.mark.parametrize(
    "body,param",
    [
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "robot", "content": "hi"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "messages[0].content"),
        ({"messages": [{"role": "assistant", "content": "hi"}]}, "messages"),
        ({"messages": [{"role": "user", "content": "hi"}], "stop": [1]}, "stop"),
        ({"messages": [{"role": "user", "content": "hi"}], "n": 3}, "n"),
        ({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 10**9}, "max_tokens"),
    ],
)
def test_malformed_requests_name_the_bad_parameter(body, param):
    with pytest.raises(ApiError) as exc:
        parse_completion_request(body)
    assert exc.value.param == param and exc.value.status == 400


_HI = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    "extra,param",
    [
        ({"tools": [{"type": "function", "function": {"name": "get_weather"}}]}, "tools"),
        ({"functions": [{"name": "get_weather"}]}, "functions"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"logprobs": True}, "logprobs"),
        ({"frequency_penalty": 0.5}, "frequency_penalty"),
        ({"seed": 7}, "seed"),
        ({"temprature": 0.2}, "temprature"),
    ],
)
def test_parameters_this_server_would_ignore_are_refused_by_name(extra, param):
    """A client asking for tools or JSON output must hear that it gets
    neither, not receive plain text as if it had (OpenAI answers 400 for an
    argument it does not know, too)."""
    with pytest.raises(ApiError) as exc:
        parse_completion_request({"messages": _HI, **extra})
    assert exc.value.param == param and exc.value.status == 400


def test_defaults_clients_send_for_unsupported_parameters_pass():
    parsed = parse_completion_request(
        {
            "messages": _HI,
            "frequency_penalty": 0,
            "presence_penalty": 0,
            "tools": [],
            "tool_choice": "none",
            "response_format": {"type": "text"},
            "logprobs": False,
            "user": "client-42",
            "parallel_tool_calls": True,
        }
    )
    assert parsed.content == "hi"


def test_history_is_normalised_to_alternating_turns():
    parsed = parse_completion_request(
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "a"},
                {"role": "user", "content": "b"},
                {"role": "assistant", "content": "c"},
                {"role": "user", "content": [{"type": "text", "text": "d"}]},
            ],
            "max_tokens": 7,
            "temperature": 0.2,
            "stop": "END",
            "stream": True,
        }
    )
    assert parsed.system_prompt == "Be brief."
    assert parsed.turns == [{"role": "user", "content": "a\n\nb"}, {"role": "assistant", "content": "c"}]
    assert parsed.content == "d" and parsed.stop == ["END"] and parsed.stream
    assert parsed.settings == {"temperature": 0.2, "max_new_tokens": 7}


def test_the_model_list_never_shows_a_remote_servers_url(settings):
    """/v1/models names the remote model; an unnamed one is not called by
    its server's URL, which may carry credentials."""
    from openai_api.selectors import served_model_names

    settings.GENERATION_BACKEND = "openai"
    settings.OPENAI_BASE_URL = "http://user:s3cret@10.1.2.3:8000/v1"
    settings.OPENAI_MODEL = ""
    assert served_model_names() == ["remote model"]
    settings.OPENAI_MODEL = "llama-3-8b"
    assert served_model_names() == ["llama-3-8b"]
