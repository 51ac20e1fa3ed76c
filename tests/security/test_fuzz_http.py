"""Every JSON endpoint under property-based fuzzing (hypothesis): bodies
that are not JSON or not UTF-8, JSON of the wrong shape, fields of the
wrong type, huge payloads, unknown fields and the victim's ids, sent as
the attacker through Django's test client. Every answer is below 500, a
JSON error says what went wrong, and nothing of the victim's shows or
changes. Each example runs in a savepoint rolled back after it, so every
request meets the same data."""

import json
import time
from collections import Counter
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from urllib.parse import quote, urlencode

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from labeling.forms import PREVIEW_MAX_CHARS

from ..conftest import record_figures
from .fuzzing import (
    FUZZ_SETTINGS,
    SECRET,
    build_world,
    deep_nesting,
    feedback_object,
    generation_settings_object,
    huge_text,
    ids,
    json_text,
    json_values,
    messy_text,
    objects,
    odd_path_ids,
    path_ids,
    settings_object,
    victim_state,
    weighted,
    wrong_values,
)

pytestmark = pytest.mark.django_db

CHAT_BODY_LIMIT = 64 * 1024
ARENA_BODY_LIMIT = 4 * 1024
OPENAI_BODY_LIMIT = 1024 * 1024

EXAMPLES = {"chat": 2200, "arena": 900, "openai": 1300, "labeling": 500}

ODD_BODIES = [
    b"",
    b" ",
    b"null",
    b"NaN",
    b"-Infinity",
    b"1e999",
    b"{",
    b"}",
    b'{"a": 1, "a": 2}',
    b"\xef\xbb\xbf{}",
    b"\xff",
    b"\xc3\x28",
    b"\xed\xa0\x80",
    b"{}\x00",
    b'{"\\ud800": "\\udfff"}',
    b"[]",
    b'"text"',
]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict = dataclass_field(default_factory=dict)
    anonymous: bool = False


def bodies(values: st.SearchStrategy, limit: int) -> st.SearchStrategy[bytes]:
    """A body meant to carry `values`, and everything else a client can
    send instead: other JSON, no JSON, other encodings, invalid UTF-8,
    nesting past the parser's limit, sizes around `limit`."""
    meant = json_text(values).map(lambda t: t.encode("utf-8", "surrogatepass"))
    text = st.one_of(json_text(values), json_text(json_values), deep_nesting(), messy_text(200))
    other = st.one_of(
        text.map(lambda t: t.encode("utf-8", "surrogatepass")),
        text.map(lambda t: t.encode("utf-16", "surrogatepass")),
        st.binary(max_size=200),
        st.sampled_from(ODD_BODIES),
        st.builds(lambda n: b'{"x": "' + b"a" * n + b'"}', st.integers(limit - 16, limit * 2)),
        huge_text().map(lambda t: json.dumps({"x": t}).encode()),
    )
    return weighted((3, meant), (2, other))


def queries() -> st.SearchStrategy[str]:
    """A query string's value, percent-encoded from any bytes."""
    return st.one_of(
        messy_text().map(lambda t: quote(t.encode("utf-8", "surrogatepass"))),
        st.binary(max_size=40).map(quote),
        st.builds(lambda n: "q" * n, st.integers(150, 5000)),
    )


def as_anyone(requests: st.SearchStrategy[Request]) -> st.SearchStrategy[Request]:
    """Mostly the attacker, now and then nobody signed in."""
    return st.builds(
        lambda request, anonymous: replace(request, anonymous=anonymous),
        requests,
        st.sampled_from([False] * 9 + [True]),
    )


def wrong_methods(paths: list[str], allowed: set[str]) -> st.SearchStrategy[Request]:
    methods = sorted({"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} - allowed)
    return st.builds(Request, st.sampled_from(methods), st.sampled_from(paths), st.binary(max_size=40))


def chat_requests(world) -> st.SearchStrategy[Request]:
    conversation, message = path_ids(world, "conversation"), path_ids(world, "message")
    body = lambda values: bodies(values, CHAT_BODY_LIMIT)  # noqa: E731
    select = objects({"message": ids(world, "message")}, world)
    reason = st.one_of(st.text(max_size=30), messy_text(), st.builds(lambda n: "r" * n, st.integers(990, 1010)))
    report = objects({"reason": reason})
    preset = path_ids(world, "preset")
    preset_name = st.one_of(st.text(max_size=30), messy_text(), st.builds(lambda n: "n" * n, st.integers(55, 65)))
    preset_body = objects({"name": preset_name, "settings": generation_settings_object()})
    paths = [
        f"/api/conversations/{world.own['conversation'][0]}/",
        f"/api/messages/{world.own['message'][1]}/feedback/",
        f"/api/presets/{world.own['preset'][0]}/",
    ]
    odd = st.builds(
        lambda method, path, pk: Request(method, path.format(pk)),
        st.sampled_from(["GET", "DELETE"]),
        st.sampled_from(["/api/conversations/{}/", "/api/messages/{}/", "/api/presets/{}/"]),
        odd_path_ids(world),
    )
    return as_anyone(
        weighted(
            (1, odd),
            (1, st.builds(lambda q: Request("GET", f"/api/conversations/?q={q}"), queries())),
            (1, st.builds(lambda pk: Request("GET", f"/api/conversations/{pk}/"), conversation)),
            (
                3,
                st.builds(
                    lambda pk, b: Request("PATCH", f"/api/conversations/{pk}/", b),
                    conversation,
                    body(settings_object()),
                ),
            ),
            (1, st.builds(lambda pk: Request("DELETE", f"/api/conversations/{pk}/"), conversation)),
            (
                2,
                st.builds(
                    lambda pk, b: Request("POST", f"/api/conversations/{pk}/select/", b), conversation, body(select)
                ),
            ),
            (1, st.builds(lambda pk: Request("GET", f"/api/messages/{pk}/"), message)),
            (
                3,
                st.builds(
                    lambda pk, b: Request("POST", f"/api/messages/{pk}/feedback/", b), message, body(feedback_object())
                ),
            ),
            (2, st.builds(lambda pk, b: Request("POST", f"/api/messages/{pk}/report/", b), message, body(report))),
            (1, st.builds(lambda b: Request("PUT", "/api/chat-defaults/", b), body(generation_settings_object()))),
            (1, st.builds(lambda b: Request("POST", "/api/presets/", b), body(preset_body))),
            (2, st.builds(lambda pk, b: Request("PATCH", f"/api/presets/{pk}/", b), preset, body(preset_body))),
            (1, st.builds(lambda pk: Request("DELETE", f"/api/presets/{pk}/"), preset)),
            (1, wrong_methods(paths, {"GET", "PATCH", "DELETE", "POST"})),
            (1, wrong_methods(["/api/chat-defaults/"], {"GET", "PUT", "DELETE"})),
        )
    )


def arena_requests(world) -> st.SearchStrategy[Request]:
    match = path_ids(world, "match")
    outcome = objects({"outcome": st.sampled_from(["a", "b", "tie", "both_bad", "A", " a", "c", ""])})
    vote = st.builds(
        lambda pk, b: Request("POST", f"/arena/api/matches/{pk}/vote/", b), match, bodies(outcome, ARENA_BODY_LIMIT)
    )
    return as_anyone(
        weighted(
            (1, st.builds(lambda pk: Request("GET", f"/arena/api/matches/{pk}/"), odd_path_ids(world))),
            (1, st.builds(lambda pk: Request("GET", f"/arena/api/matches/{pk}/"), match)),
            (4, vote),
            (1, wrong_methods([f"/arena/api/matches/{world.own['match'][0]}/vote/"], {"POST"})),
        )
    )


def completion_object(world) -> st.SearchStrategy[dict]:
    roles = st.sampled_from(["system", "developer", "user", "assistant", "tool", "function", "", "USER"])
    parts = st.lists(
        objects({"type": st.sampled_from(["text", "image_url"]), "text": st.text(max_size=20)}), max_size=3
    )
    message = objects({"role": roles, "content": st.one_of(st.text(max_size=30), messy_text(), parts)})
    plain = st.fixed_dictionaries(
        {"role": st.sampled_from(["system", "user", "assistant"]), "content": st.text(max_size=20)}
    )
    valid_history = st.builds(
        lambda turns, last: turns + [{"role": "user", "content": last}],
        st.lists(plain, max_size=4),
        st.text(min_size=1, max_size=20),
    )
    tokens = st.integers(1, 64)
    short = st.text(min_size=1, max_size=5)
    completion = objects(
        {
            "model": st.sampled_from([world.served_model, "", "gpt-4o"]),
            "temperature": st.floats(0, 2),
            "top_p": st.floats(0.01, 1),
            "max_tokens": tokens,
            "max_completion_tokens": tokens,
            "stop": st.one_of(short, st.lists(short, max_size=5)),
            "n": st.integers(0, 2),
            "stream": st.booleans(),
            "stream_options": st.fixed_dictionaries({"include_usage": st.booleans()}),
            "store": st.booleans(),
        }
    )
    # Nearly always with messages, most of them well formed, so the checks after theirs are reached.
    messages = weighted((3, valid_history), (1, st.lists(message, max_size=4)), (1, wrong_values()))
    return st.builds(lambda body, history: {"messages": history, **body}, completion, messages)


def openai_requests(world) -> st.SearchStrategy[Request]:
    latin1 = st.text(st.characters(max_codepoint=255), max_size=60)
    key = world.api_key
    authorization = weighted(
        (6, st.just(f"Bearer {key}")),
        (1, st.sampled_from(["", "Bearer ", f"bearer {key}", f"Bearer {key}x", f"Bearer  {key} ", f"Basic {key}"])),
        (1, latin1),
        (1, latin1.map(lambda t: "Bearer " + t)),
    )
    completion = st.builds(
        lambda body, auth: Request("POST", "/v1/chat/completions", body, headers={"Authorization": auth}),
        bodies(completion_object(world), OPENAI_BODY_LIMIT),
        authorization,
    )
    return weighted(
        (8, completion),
        (1, st.builds(lambda auth: Request("GET", "/v1/models", headers={"Authorization": auth}), authorization)),
        (
            1,
            st.builds(
                lambda method, auth: Request(method, "/v1/chat/completions", headers={"Authorization": auth}),
                st.sampled_from(["GET", "PUT", "DELETE", "PATCH"]),
                authorization,
            ),
        ),
    )


def labeling_requests() -> st.SearchStrategy[Request]:
    text = st.one_of(st.text(max_size=200), messy_text(200), huge_text(PREVIEW_MAX_CHARS - 5, PREVIEW_MAX_CHARS + 5))
    form = weighted(
        (3, text.map(lambda t: urlencode({"text": t.encode("utf-8", "surrogatepass")}).encode())),
        (1, st.binary(max_size=200)),
        (1, st.builds(lambda n: b"a=1&" * n, st.integers(900, 1100))),  # past DATA_UPLOAD_MAX_NUMBER_FIELDS
        (1, json_text(json_values).map(lambda t: t.encode("utf-8", "surrogatepass"))),
    )
    content_type = st.sampled_from(
        ["application/x-www-form-urlencoded"] * 4
        + ["multipart/form-data; boundary=xyz", "application/json", "text/plain"]
    )
    return as_anyone(
        weighted(
            (4, st.builds(lambda body, ct: Request("POST", "/labeling/preview/", body, ct), form, content_type)),
            (1, wrong_methods(["/labeling/preview/"], {"POST"})),
        )
    )


# --- the property ---------------------------------------------------------------


@pytest.fixture(scope="module")
def figures():
    figures = {}
    yield figures
    figures["total_inputs"] = sum(entry["inputs"] for entry in figures.values())
    record_figures("fuzz_inputs_http", figures)


@pytest.fixture
def world(make_user):
    return build_world(make_user, busy=True)


@pytest.fixture
def clients(world):
    attacker = Client()
    attacker.force_login(world.attacker)
    return {False: attacker, True: Client()}


class Fuzz:
    """Sends each request as the attacker (or nobody) in a savepoint rolled
    back afterwards, and checks the property; counts what it saw."""

    def __init__(self, world, clients, *, openai: bool = False):
        self.world, self.clients, self.openai = world, clients, openai
        self.victim_before = victim_state(world)
        self.statuses = Counter()
        self.not_json = Counter()  # 4xx answered by Django itself (405, a login redirect's 403, a bad upload's 400)
        self.started = time.monotonic()

    def __call__(self, request: Request) -> None:
        with transaction.atomic():
            response = self.clients[request.anonymous].generic(
                request.method,
                request.path,
                request.body,
                content_type=request.content_type,
                headers=request.headers,
            )
            try:
                self.check(response)
                if request.method != "GET" and response.status_code < 400:
                    # Refused requests were refused before any write.
                    assert victim_state(self.world) == self.victim_before, "the victim's data changed"
            finally:
                transaction.set_rollback(True)
        self.statuses[response.status_code] += 1

    def check(self, response) -> None:
        assert not response.streaming, "a valid completion should be refused at the concurrency limit, not streamed"
        assert response.status_code < 500, response.content[:500]
        assert SECRET.encode() not in response.content, "the victim's data leaked"
        if response.status_code < 400:
            return
        if not response.get("Content-Type", "").startswith("application/json"):
            self.not_json[response.status_code] += 1
            return
        error = json.loads(response.content)["error"]
        message = error["message"] if self.openai else error
        assert isinstance(message, str) and message.strip(), response.content[:500]

    def record(self, figures: dict, name: str) -> None:
        figures[name] = {
            "inputs": sum(self.statuses.values()),
            "seconds": round(time.monotonic() - self.started, 1),
            "statuses": dict(sorted(self.statuses.items())),
            "4xx_not_json": dict(sorted(self.not_json.items())),
        }
        assert figures[name]["inputs"] >= EXAMPLES[name]


def fuzz_run(name: str, requests: st.SearchStrategy[Request], fuzz: Fuzz) -> None:
    @settings(FUZZ_SETTINGS, max_examples=EXAMPLES[name])
    @given(requests)
    def run(request):
        fuzz(request)

    run()


def test_chat_api(world, clients, figures):
    fuzz = Fuzz(world, clients)
    fuzz_run("chat", chat_requests(world), fuzz)
    fuzz.record(figures, "chat")


def test_arena_api(world, clients, figures):
    fuzz = Fuzz(world, clients)
    fuzz_run("arena", arena_requests(world), fuzz)
    fuzz.record(figures, "arena")


def test_openai_api(world, clients, figures):
    fuzz = Fuzz(world, clients, openai=True)
    fuzz_run("openai", openai_requests(world), fuzz)
    fuzz.record(figures, "openai")
    assert fuzz.statuses[429] > 0, "no valid completion request was generated"


def test_labeling_preview(world, clients, figures):
    fuzz = Fuzz(world, clients)
    fuzz_run("labeling", labeling_requests(), fuzz)
    fuzz.record(figures, "labeling")
