"""The remote backend's endpoint pool: which endpoint takes an answer, the
back-off of one that failed, its probe, and messages that name no URL."""

import http.server
import threading

import pytest

from engine.backends import SamplingParams
from engine.backends.remote import EndpointPool, OpenAIBackend, RemoteGenerationError, parse_base_urls
from tests.processes import free_port

USER = [{"role": "user", "content": "Tell me about the sea"}]


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def make_pool(count=3, backoff=10.0, answers=None):
    """A pool on a fake clock whose probe answers from `answers` (url -> bool)
    and records the URLs it probed."""
    clock, probed = Clock(), []
    answers = answers if answers is not None else {}

    def probe(url):
        probed.append(url)
        return answers.get(url, True)

    urls = [f"http://server-{i}/v1" for i in range(count)]
    return EndpointPool(urls, backoff_seconds=backoff, probe=probe, clock=clock), clock, probed


def test_base_urls_are_split_on_commas():
    assert parse_base_urls("http://a/v1") == ["http://a/v1"]
    assert parse_base_urls(" http://a/v1/ , http://b/v1,") == ["http://a/v1", "http://b/v1"]
    assert parse_base_urls("") == []


def test_the_endpoint_with_fewest_answers_in_flight_takes_the_next_round_robin_on_ties():
    pool, _, _ = make_pool(3)
    first, second, third = (pool.acquire() for _ in range(3))
    assert [first.index, second.index, third.index] == [0, 1, 2]
    pool.release(second)
    assert pool.acquire().index == 1, "the only endpoint with room"
    for endpoint in (first, second, third):
        pool.release(endpoint)
    assert [e.in_flight for e in pool.endpoints] == [0, 0, 0]
    taken = []
    for _ in range(6):
        endpoint = pool.acquire()
        taken.append(endpoint.index)
        pool.release(endpoint)
    assert taken == [2, 0, 1, 2, 0, 1], "ties go round, starting after the last one chosen"


def test_a_failed_endpoint_is_out_for_the_back_off_then_probed_before_it_takes_answers():
    answers = {"http://server-0/v1": False}
    pool, clock, probed = make_pool(2, backoff=10.0, answers=answers)
    down = pool.acquire()
    pool.mark_down(down, "connection refused")
    pool.release(down)
    for _ in range(3):
        endpoint = pool.acquire()
        assert endpoint.index == 1
        pool.release(endpoint)
    assert probed == [], "not probed during its back-off"

    clock.now += 10.0
    assert pool.acquire(exclude=()).index == 1
    assert probed == ["http://server-0/v1"], "probed once its back-off ended"
    assert not pool.is_up(pool.endpoints[0]), "a failed probe starts another back-off"
    pool.release(pool.endpoints[1])

    clock.now += 9.0
    pool.release(pool.acquire())
    assert len(probed) == 1
    answers["http://server-0/v1"] = True
    clock.now += 1.0
    assert pool.acquire().index == 0, "back, and with nothing in flight it is chosen"
    assert pool.is_up(pool.endpoints[0]) and len(probed) == 2


def test_an_answer_never_goes_back_to_an_endpoint_it_excluded():
    pool, _, _ = make_pool(2)
    first = pool.acquire()
    pool.release(first)
    assert pool.acquire(exclude=[first]).index == 1
    assert pool.acquire(exclude=pool.endpoints) is None


def test_with_every_endpoint_down_they_are_probed_at_once_rather_than_failing_on_a_stale_verdict():
    answers = {"http://server-0/v1": False, "http://server-1/v1": False}
    pool, _, probed = make_pool(2, backoff=60.0, answers=answers)
    for endpoint in pool.endpoints:
        pool.mark_down(endpoint, "503")
    assert pool.acquire() is None
    assert sorted(probed) == ["http://server-0/v1", "http://server-1/v1"]
    answers["http://server-1/v1"] = True
    assert pool.acquire().index == 1, "well within the back-off, it answered its probe"


def test_a_probe_that_raises_counts_as_down():
    def probe(url):
        raise OSError("no route to host")

    pool = EndpointPool(["http://a/v1"], probe=probe, clock=Clock())
    pool.mark_down(pool.endpoints[0], "timeout")
    assert pool.acquire() is None


def test_no_endpoints_is_a_clear_configuration_error():
    with pytest.raises(RemoteGenerationError, match="needs OPENAI_BASE_URL"):
        OpenAIBackend("")


class _Unavailable(http.server.BaseHTTPRequestHandler):
    """A server that answers every request 503, as a replica being drained does."""

    def do_GET(self):
        self._answer()

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer()

    def _answer(self):
        body = b'{"error": {"message": "overloaded, see http://internal-host:9000/status"}}'
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def unavailable_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Unavailable)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://user:s3cret@127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_when_no_endpoint_can_answer_the_message_names_each_by_position_and_no_url(unavailable_url, caplog):
    refused = f"http://user:s3cret@127.0.0.1:{free_port()}/v1"
    backend = OpenAIBackend(f"{refused},{unavailable_url}", model="m", timeout=5)
    with pytest.raises(RemoteGenerationError) as error:
        list(backend.stream(USER, SamplingParams(max_new_tokens=4), lambda: False))
    message = str(error.value)
    assert message == (
        "No model server could take this answer (model server 1 of 2 cannot be reached; "
        "model server 2 of 2 answered 503); try again shortly."
    )
    assert not any(e.in_flight for e in backend.pool.endpoints)
    assert not any(backend.pool.is_up(e) for e in backend.pool.endpoints)
    assert "s3cret@127.0.0.1" in caplog.text, "the URLs are in the server's log"

    with pytest.raises(RemoteGenerationError) as error:
        list(backend.stream(USER, SamplingParams(max_new_tokens=4), lambda: False))
    assert str(error.value) == "No model server could take this answer (all 2 are down); try again shortly."


def test_one_unreachable_server_is_named_without_its_url():
    backend = OpenAIBackend(f"http://admin:s3cret@127.0.0.1:{free_port()}/v1", model="x", timeout=5)
    with pytest.raises(RemoteGenerationError) as error:
        list(backend.stream(USER, SamplingParams(max_new_tokens=4), lambda: False))
    assert str(error.value) == "The model server cannot be reached; try again shortly."
    assert backend.model_path == "x" and backend.with_model("").model_path == "remote model"
