"""The chat, arena and job WebSockets under property-based fuzzing
(hypothesis): text that is not JSON, binary frames, lone surrogates, JSON
that is not an object, unknown or non-text types, every known type with
fields of the wrong type, huge frames and the victim's ids.

Each test keeps one socket, through the real ASGI application and signed
in as the attacker, for all its frames; after each frame it sends a ping
and reads up to the pong. The socket stays open, every frame gets exactly
one answer (an error frame with a code and a message when it is refused),
no frame carries the victim's data and the victim's data is unchanged."""

import asyncio
import json
import time
from collections import Counter

import pytest
from django.conf import settings
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from chatsite.asgi import application
from core.redis_client import redis_client

from ..conftest import record_figures, session_cookie
from ..helpers.sockets import WebsocketCommunicator, handshake, handshake_headers
from .fuzzing import (
    FUZZ_SETTINGS,
    SECRET,
    build_world,
    deep_nesting,
    ids,
    json_text,
    json_values,
    messy_text,
    objects,
    settings_object,
    victim_state,
    weighted,
)

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = {"chat": 2600, "arena": 1400, "jobs": 1200}

# What the socket relays from the channel layer about a watched
# conversation: news, not answers to a frame.
BROADCASTS = {"message", "delta", "retract"}
SENTINEL = "fuzz-sentinel"
ANSWER_TIMEOUT = 5


def close_code(user, path: str) -> int:
    """The code a socket `user` may not open is closed with after the handshake."""

    async def attempt(cookie):
        communicator, output = await handshake(cookie, path)
        await communicator.disconnect()
        return output

    loop = asyncio.new_event_loop()
    try:
        output = loop.run_until_complete(attempt(session_cookie(user)))
    finally:
        loop.close()
    assert output["type"] == "websocket.close", output
    return output["code"]


class Socket:
    """One WebSocket for a whole hypothesis test. Examples run one after
    another in this (synchronous) test, so the socket lives on an event
    loop of its own, run for each exchange."""

    def __init__(self, user, path: str, *, pong_has_request_id: bool = True):
        self.pong_has_request_id = pong_has_request_id
        self.loop = asyncio.new_event_loop()
        self.communicator = WebsocketCommunicator(application, path, headers=handshake_headers(session_cookie(user)))
        connected, _ = self.loop.run_until_complete(self.communicator.connect(timeout=10))
        assert connected
        self.first = self._run(self._next())

    def _run(self, coroutine):
        return self.loop.run_until_complete(coroutine)

    async def _next(self) -> dict:
        """The next frame; fails when the socket closed or stays silent."""
        try:
            output = await self.communicator.receive_output(timeout=ANSWER_TIMEOUT)
        except TimeoutError:
            raise AssertionError(f"no frame within {ANSWER_TIMEOUT} s: a frame went unanswered") from None
        assert output["type"] == "websocket.send", f"the socket closed: {output}"
        assert SECRET not in output["text"], "the victim's data leaked"
        return json.loads(output["text"])

    def exchange(self, frame: str | bytes) -> list[dict]:
        """Sends `frame`, then a ping; returns what answered `frame`."""
        return self._run(self._exchange(frame))

    async def _exchange(self, frame: str | bytes) -> list[dict]:
        # send_input, not send_to: an empty frame is a frame too.
        kind = "bytes" if isinstance(frame, bytes) else "text"
        await self.communicator.send_input({"type": "websocket.receive", kind: frame})
        await self.communicator.send_to(text_data=json.dumps({"type": "ping", "request_id": SENTINEL}))
        if not self.pong_has_request_id:
            # The job socket's pong carries no request id: the answer, then the sentinel's pong.
            answer, pong = await self._next(), await self._next()
            assert pong == {"type": "pong"}, f"more than one answer to a frame: {answer}, {pong}"
            return [answer]
        answers = []
        while True:
            reply = await self._next()
            if reply.get("type") == "pong" and reply.get("request_id") == SENTINEL:
                return answers
            if reply.get("type") not in BROADCASTS:
                answers.append(reply)

    def close(self) -> None:
        self._run(self.communicator.disconnect())
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()


def check_answer(answers: list[dict], counts: Counter) -> dict:
    assert len(answers) == 1, f"a frame got {len(answers)} answers: {answers}"
    answer = answers[0]
    if answer.get("type") == "error":
        assert isinstance(answer.get("code"), str) and answer["code"], answer
        assert isinstance(answer.get("message"), str) and answer["message"].strip(), answer
        counts[f"error:{answer['code']}"] += 1
    else:
        counts[str(answer.get("type"))] += 1
    return answer


# --- strategies -----------------------------------------------------------------

request_ids = st.one_of(st.text(max_size=70), json_values).filter(lambda value: value != SENTINEL)


def typed(frame_type: str, fields: dict, world, required: tuple[str, ...] = ()) -> st.SearchStrategy[dict]:
    """A frame of a known type: its fields as `objects` makes them, the
    `required` ones mostly there, and now and then a request id of any
    type."""
    return st.builds(
        lambda body, extra: {**body, **extra, "type": frame_type},
        weighted((3, objects(fields, world, required)), (1, objects(fields, world))),
        st.fixed_dictionaries({}, optional={"request_id": request_ids}),
    )


def frames(known: list[st.SearchStrategy[dict]], huge: st.SearchStrategy[str]) -> st.SearchStrategy[str | bytes]:
    """Mostly well-formed frames of the known types; then unknown and
    non-text types, JSON that is no object, text that is no JSON, nesting
    past the parser's limit, binary frames and `huge` ones."""
    odd_types = st.builds(
        lambda body, kind: {**body, "type": kind},
        st.dictionaries(messy_text(10), json_values, max_size=3),
        st.one_of(messy_text(), json_values),
    )
    meant = json_text(st.one_of(*known))
    return weighted(
        (12, meant),
        (1, json_text(odd_types)),
        (1, json_text(json_values)),
        (1, messy_text(200)),
        (1, deep_nesting()),
        (1, st.binary(max_size=100)),
        (1, meant.map(lambda text: text.encode("utf-8", "surrogatepass"))),
        (1, huge),
    )


def content() -> st.SearchStrategy[str]:
    """A message: short, odd, or at the length limit give or take a few."""
    limit = settings.CHAT_MAX_MESSAGE_CHARS
    return st.one_of(
        st.text(min_size=1, max_size=40), messy_text(), st.builds(lambda n: "w" * n, st.integers(limit - 5, limit + 5))
    )


def huge_frames() -> st.SearchStrategy[str]:
    """Frames around the size the socket takes (a message at its limit,
    JSON-escaped, plus slack) and far past it."""
    limit = settings.CHAT_MAX_MESSAGE_CHARS
    return st.builds(
        lambda n: json.dumps({"type": "send", "conversation": None, "content": '"' * n}),
        st.integers(limit - 10, limit * 4),
    )


def chat_frames(world) -> st.SearchStrategy[str | bytes]:
    conversation, message = ids(world, "conversation"), ids(world, "message")
    return frames(
        [
            typed("subscribe", {"conversation": conversation}, world, ("conversation",)),
            typed(
                "send",
                {
                    "conversation": st.one_of(st.none(), conversation),
                    "parent": st.one_of(st.none(), message),
                    "content": content(),
                    "settings": settings_object(),
                },
                world,
                ("content",),
            ),
            typed(
                "send", {"conversation": st.one_of(st.none(), conversation), "content": content()}, world, ("content",)
            ),
            typed("regenerate", {"message": message}, world, ("message",)),
            typed("stop", {"message": message}, world, ("message",)),
            typed("ping", {}, world),
        ],
        huge_frames(),
    )


def arena_frames(world) -> st.SearchStrategy[str | bytes]:
    match = ids(world, "match")
    return frames(
        [
            typed(
                "start",
                {"content": content(), "trial_version": st.one_of(st.none(), ids(world, "version"))},
                world,
                ("content",),
            ),
            typed("start", {"content": content()}, world, ("content",)),
            typed("watch", {"match": match}, world, ("match",)),
            typed("stop", {"match": match}, world, ("match",)),
            typed("ping", {}, world),
        ],
        huge_frames(),
    )


def job_frames(world) -> st.SearchStrategy[str | bytes]:
    return frames([typed("ping", {}, world), typed("subscribe", {"job": ids(world, "job")}, world)], huge_frames())


# --- the property ---------------------------------------------------------------


@pytest.fixture(scope="module")
def figures():
    figures = {}
    yield figures
    figures["total_inputs"] = sum(entry["inputs"] for entry in figures.values())
    record_figures("fuzz_inputs_websocket", figures)


@pytest.fixture
def world(make_user):
    return build_world(make_user, busy=False)


@pytest.fixture(autouse=True)
def _frames_as_fast_as_hypothesis_sends(settings):
    """Each example is a frame and a ping, sent back to back: far past the
    frame rate a page keeps (tests/core/test_user_sockets.py tests that limit)."""
    settings.WEBSOCKET_FRAMES_PER_SECOND = 1_000_000
    settings.WEBSOCKET_FRAME_BURST = 1_000_000


@pytest.fixture(autouse=True)
def _no_stray_tasks():
    """A valid `send` or `start` queues input moderation; no worker runs
    here, so none must be left for a later test's worker."""
    yield
    client = redis_client()
    for queue in ("moderation", "generation"):
        # kombu keeps a queue's messages in a list of its name, one per priority after the first.
        client.delete(queue, *client.scan_iter(f"{queue}\x06\x16*"))


def fuzz(name: str, world, socket: Socket, strategy, figures: dict, *, remember=None) -> Counter:
    victim_before = victim_state(world)
    counts = Counter()
    started = time.monotonic()

    @hypothesis_settings(FUZZ_SETTINGS, max_examples=EXAMPLES[name])
    @given(strategy)
    def run(frame):
        answer = check_answer(socket.exchange(frame), counts)
        if remember:
            remember(answer)

    try:
        run()
    finally:
        socket.close()
    figures[name] = {
        "inputs": sum(counts.values()),
        "seconds": round(time.monotonic() - started, 1),
        "answers": dict(counts.most_common()),
    }
    assert victim_state(world) == victim_before, "the victim's data changed"
    assert figures[name]["inputs"] >= EXAMPLES[name]
    return counts


def test_chat_socket(world, figures):
    socket = Socket(world.attacker, "/ws/chat/")
    assert socket.first["type"] == "ready"

    def remember(answer):
        if answer["type"] == "sent":
            world.remember("conversation", answer["conversation"])
            world.remember("message", answer["answer"]["id"])
            if answer.get("user_message"):
                world.remember("message", answer["user_message"]["id"])

    counts = fuzz("chat", world, socket, chat_frames(world), figures, remember=remember)
    assert counts["sent"] > 0, "no valid message was generated"


def test_arena_socket(world, figures):
    socket = Socket(world.attacker, "/ws/arena/")
    assert socket.first["type"] == "ready"

    def remember(answer):
        if answer["type"] == "started":
            world.remember("match", answer["match"]["id"])

    counts = fuzz("arena", world, socket, arena_frames(world), figures, remember=remember)
    assert counts["started"] > 0, "no valid round was generated"


def test_job_socket(world, figures):
    assert close_code(world.attacker, f"/ws/jobs/{world.theirs['job'][0]}/") == 4403, "the victim's job"
    socket = Socket(world.attacker, f"/ws/jobs/{world.own['job'][0]}/", pong_has_request_id=False)
    assert socket.first["type"] == "snapshot"
    fuzz("jobs", world, socket, job_frames(world), figures)
