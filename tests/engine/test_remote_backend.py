"""The remote backend against a real OpenAI-compatible server on loopback."""

import pytest

from engine.backends import SamplingParams
from engine.backends.remote import OpenAIBackend, RemoteGenerationError

USER = [{"role": "user", "content": "Tell me about the sea"}]


@pytest.fixture
def backend(openai_server_url, tiny_model_dir):
    return OpenAIBackend(openai_server_url, model=str(tiny_model_dir))


def test_streams_an_answer_with_usage(backend):
    stream = backend.stream(USER, SamplingParams(max_new_tokens=24), lambda: False)
    deltas = list(stream)
    assert len(deltas) >= 2 and "".join(deltas)
    assert stream.completion_tokens == 24 and stream.ttft_seconds is not None


def test_stop_closes_the_stream(backend):
    polls = []
    stream = backend.stream(USER, SamplingParams(max_new_tokens=2000), lambda: len(polls) > 3 or polls.append(1))
    list(stream)
    assert stream.finish_reason == "cancelled"


def test_an_unreachable_server_is_a_clear_error():
    backend = OpenAIBackend("http://127.0.0.1:9/v1", model="x", timeout=5)
    with pytest.raises(RemoteGenerationError, match="cannot be reached"):
        list(backend.stream(USER, SamplingParams(max_new_tokens=4), lambda: False))


def test_a_server_error_gives_the_status_and_never_the_servers_url(openai_server_url):
    backend = OpenAIBackend(openai_server_url, model="/no/such/model", timeout=30)
    with pytest.raises(RemoteGenerationError, match=r"answered \d{3}|failed") as error:
        list(backend.stream(USER, SamplingParams(max_new_tokens=4), lambda: False))
    assert openai_server_url not in str(error.value) and "127.0.0.1" not in str(error.value)
