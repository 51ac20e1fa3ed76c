"""Two real `transformers serve` endpoints behind one remote backend: answers
spread over both, one SIGKILLed mid-answer ends that answer with a clear
message (no URL) and sends the next ones to the survivor, and, restarted on
its port, it takes answers again after the back-off. The tiny model never
ends an answer, so a long max_new_tokens keeps it streaming."""

import os
import time

import pytest

from chat.models import Conversation, Message, MessageStatus
from engine.backends import SamplingParams
from engine.backends.remote import MID_ANSWER_MESSAGE, OpenAIBackend, RemoteGenerationError
from tests.conftest import record_figures
from tests.helpers.polling import eventually
from tests.helpers.threads import database_thread
from tests.processes import port_open, start_openai_server

pytestmark = pytest.mark.integration

USER = [{"role": "user", "content": "Tell me about the sea"}]
BACKOFF = 2.0


@pytest.fixture(scope="module")
def two_servers(tiny_model_dir, process_log_dir):
    """[(process, url), (process, url)]: each its own log directory."""
    servers = []
    for name in ("first", "second"):
        log_dir = process_log_dir / f"openai-{name}"
        log_dir.mkdir(exist_ok=True)
        servers.append(start_openai_server(str(tiny_model_dir), dict(os.environ), log_dir))
    yield servers
    for process, _ in servers:
        process.stop()


@pytest.fixture
def backend(two_servers, tiny_model_dir):
    """A fresh pool over both servers, both running."""
    for process, url in two_servers:
        if process.proc.poll() is not None:
            _restart(process, url)
    urls = ",".join(url for _, url in two_servers)
    return OpenAIBackend(urls, model=str(tiny_model_dir), timeout=30, backoff_seconds=BACKOFF)


def _restart(process, url):
    process.restart()
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    process.wait_for(lambda: port_open(port))


def _busy(backend) -> int:
    (endpoint,) = [e for e in backend.pool.endpoints if e.in_flight]
    return endpoint.index


def _answer(backend, max_new_tokens=6) -> int:
    """One whole short answer; which endpoint wrote it."""
    stream = backend.stream(USER, SamplingParams(max_new_tokens=max_new_tokens), lambda: False)
    deltas = iter(stream)
    first = next(deltas)
    index = _busy(backend)
    assert first + "".join(deltas) and stream.completion_tokens == max_new_tokens
    return index


def _streaming(backend, max_new_tokens=4000):
    """A long answer, read until it has streamed a few deltas."""
    stream = backend.stream(USER, SamplingParams(max_new_tokens=max_new_tokens), lambda: False)
    deltas = iter(stream)
    for _ in range(3):
        next(deltas)
    return deltas


def test_answers_spread_over_both_endpoints(backend):
    assert [_answer(backend) for _ in range(4)] == [0, 1, 0, 1], "one at a time: round-robin"
    first, second = _streaming(backend), _streaming(backend)
    assert sorted(e.in_flight for e in backend.pool.endpoints) == [1, 1], "two at once: one each"
    first.close(), second.close()
    assert [e.in_flight for e in backend.pool.endpoints] == [0, 0]


def test_an_endpoint_killed_before_an_answer_starts_is_failed_over_transparently(backend, two_servers):
    assert _answer(backend) == 0  # the next tie goes to endpoint 1
    two_servers[1][0].kill()
    started = time.perf_counter()
    assert _answer(backend) == 0, "refused by the dead one, written by the other"
    failover_seconds = time.perf_counter() - started
    assert not backend.pool.is_up(backend.pool.endpoints[1])
    assert [_answer(backend) for _ in range(3)] == [0, 0, 0]
    record_figures("remote_failover_before_first_token", {"answer_seconds_with_failover": round(failover_seconds, 3)})


def test_an_endpoint_killed_mid_answer_ends_it_clearly_and_the_survivor_takes_the_next(backend, two_servers):
    deltas = _streaming(backend)
    dead = _busy(backend)
    process, url = two_servers[dead]
    process.kill()
    killed_at = time.perf_counter()
    with pytest.raises(RemoteGenerationError) as error:
        for _ in deltas:
            pass
    error_seconds = time.perf_counter() - killed_at
    assert str(error.value) == MID_ANSWER_MESSAGE
    assert "127.0.0.1" not in str(error.value) and url not in str(error.value)
    assert not backend.pool.is_up(backend.pool.endpoints[dead])
    assert [_answer(backend) for _ in range(4)] == [1 - dead] * 4, "new answers go to the healthy endpoint"

    _restart(process, url)
    restarted_at = time.perf_counter()
    time.sleep(max(0.0, BACKOFF - (restarted_at - killed_at)))
    taken = [_answer(backend) for _ in range(2)]
    assert dead in taken, "back after its back-off, with its probe answered"
    assert backend.pool.is_up(backend.pool.endpoints[dead])
    record_figures(
        "remote_failover_mid_answer",
        {
            "seconds_from_kill_to_error": round(error_seconds, 3),
            "seconds_from_kill_to_back_in_the_pool": round(time.perf_counter() - killed_at, 1),
        },
    )


@pytest.mark.django_db(transaction=True)
def test_a_chat_answer_whose_server_dies_mid_way_ends_failed_with_the_message(
    two_servers, tiny_model_dir, settings, make_user
):
    """Through the chat's answer service (as the generation worker runs it):
    the answer ends `failed`, its error says what happened and names no
    server, and its model is the configured name."""
    from chat.worker import answer_generate
    from registry.serving import version_backend

    for process, url in two_servers:
        if process.proc.poll() is not None:
            _restart(process, url)
    settings.GENERATION_BACKEND = "openai"
    settings.OPENAI_BASE_URL = ",".join(url for _, url in two_servers)
    settings.OPENAI_MODEL = str(tiny_model_dir)
    settings.OPENAI_BACKOFF_SECONDS = 1.25  # a pool of this test's own
    conversation = Conversation.objects.create(owner=make_user())
    question = Message.objects.create(
        conversation=conversation, role="user", content="Tell me about the sea", status=MessageStatus.ACCEPTED
    )
    answer = Message.objects.create(
        conversation=conversation,
        parent=question,
        role="assistant",
        status=MessageStatus.QUEUED,
        sampling={"max_new_tokens": 4000},
    )

    worker = database_thread(answer_generate, message_id=answer.pk)

    def streamed():  # the text is saved every second while streaming
        assert worker.is_alive(), "the worker ended before the answer streamed"
        return Message.objects.get(pk=answer.pk).content

    eventually(streamed, timeout=60, what="the answer streaming")
    pool = version_backend()[0].pool
    (busy,) = [e.index for e in pool.endpoints if e.in_flight]
    two_servers[busy][0].kill()
    worker.join(timeout=60)
    answer.refresh_from_db()
    assert (answer.status, answer.error) == (MessageStatus.FAILED, MID_ANSWER_MESSAGE)
    assert answer.model_name == settings.OPENAI_MODEL and "127.0.0.1" not in answer.model_name
