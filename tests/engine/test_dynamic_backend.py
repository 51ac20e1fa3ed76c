"""Our iteration-level batching scheduler against one request at a time on
the same model: greedy answers equal exactly, whatever joins or leaves the
batch meanwhile."""

import threading

import pytest
import torch

from engine.backends import ContextTooLong, GenerationStream, SamplingParams
from engine.backends.dynamic import DynamicBatchingBackend
from engine.backends.local import LocalBackend
from engine.tiny import build_tiny_chat_model

PROMPTS = [
    "hello there",
    "the quick brown fox jumps over the lazy dog, and then over the sleeping cat",
    "What is the capital of France?",
    "Write a short poem",
    "2+2",
    "To be, or not to be, that is the question. All that glitters is not gold.",
]


@pytest.fixture(scope="module")
def varied_model_dir(tmp_path_factory):
    return build_tiny_chat_model(tmp_path_factory.mktemp("varied-tiny"), never_ends=True, init_std=0.3)


@pytest.fixture(scope="module")
def single(varied_model_dir):
    return LocalBackend(str(varied_model_dir), device="cpu")


@pytest.fixture(scope="module")
def dynamic(varied_model_dir):
    return DynamicBatchingBackend(str(varied_model_dir), device="cpu", max_batch=4)


def generate_alone(backend, prompt: str, max_new_tokens: int) -> str:
    ids = backend.encode_chat([{"role": "user", "content": prompt}], max_new_tokens)
    out = backend.model.generate(
        ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens, do_sample=False
    )
    return backend.tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_greedy_answers_equal_single_runs_while_requests_join_and_leave(single, dynamic):
    """Six prompts of different lengths and answer lengths on a batch of at
    most four: each request starts once the previous one has streamed a few
    deltas (so it joins a running batch), rows finish at different steps,
    and the last two wait in the queue for a freed slot."""
    lengths = [40, 12, 33, 25, 18, 30]
    expected = [generate_alone(single, p, n) for p, n in zip(PROMPTS, lengths, strict=True)]
    assert len(set(expected)) == len(PROMPTS), "the prompts lead to different answers"
    results = [None] * len(PROMPTS)
    started = [threading.Event() for _ in PROMPTS]

    def run(i):
        stream = dynamic.stream(
            user(PROMPTS[i]), SamplingParams(temperature=0, max_new_tokens=lengths[i]), lambda: False
        )
        deltas = []
        for delta in stream:
            deltas.append(delta)
            if len(deltas) == 3:
                started[i].set()
        started[i].set()
        results[i] = ("".join(deltas), stream.completion_tokens, stream.finish_reason)

    threads = []
    for i in range(len(PROMPTS)):
        threads.append(threading.Thread(target=run, args=(i,)))
        threads[-1].start()
        if i < 3:
            assert started[i].wait(timeout=60)
    for thread in threads:
        thread.join(timeout=120)
    assert [r[0] for r in results] == expected
    assert [r[1] for r in results] == lengths
    assert all(r[2] == "length" for r in results)


def test_each_request_samples_with_its_own_parameters(dynamic, single):
    greedy = SamplingParams(temperature=0, max_new_tokens=20)
    seeded = SamplingParams(temperature=1.5, top_p=1.0, max_new_tokens=20, seed=7)
    results = {}

    def run(name, params):
        results.setdefault(name, []).append("".join(dynamic.stream(user(PROMPTS[2]), params, lambda: False)))

    threads = [
        threading.Thread(target=run, args=(name, params))
        for name, params in [("greedy", greedy), ("seeded", seeded), ("seeded", seeded)]
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results["greedy"] == [generate_alone(single, PROMPTS[2], 20)]
    # Same seed, same answer, though the two shared steps with other rows.
    assert results["seeded"][0] == results["seeded"][1]
    assert results["seeded"][0] != results["greedy"][0]
    # top_p close to zero keeps only the most likely token: greedy, even at a high temperature.
    narrow = "".join(
        dynamic.stream(user(PROMPTS[2]), SamplingParams(temperature=1.5, top_p=1e-6, max_new_tokens=20), lambda: False)
    )
    assert narrow == results["greedy"][0]


def test_stop_strings_end_the_answer_and_never_show(dynamic):
    params = SamplingParams(temperature=0, max_new_tokens=30)
    full = "".join(dynamic.stream(user(PROMPTS[0]), params, lambda: False))
    stop = full[10:13]
    assert full.find(stop) > 0
    stream = dynamic.stream(
        user(PROMPTS[0]), SamplingParams(temperature=0, max_new_tokens=30, stop=(stop,)), lambda: False
    )
    assert "".join(stream) == full[: full.find(stop)]
    assert stream.finish_reason == "stop"


def test_cancel_frees_the_slot_for_a_queued_request(varied_model_dir):
    backend = DynamicBatchingBackend(str(varied_model_dir), device="cpu", max_batch=1)
    cancel = threading.Event()
    endless = backend.stream(user("go on"), SamplingParams(max_new_tokens=3000), cancel.is_set)
    received = []
    runner = threading.Thread(target=lambda: received.extend(endless))
    runner.start()
    # The only slot is taken: a second request waits in the queue...
    queued = backend.stream(user("next"), SamplingParams(temperature=0, max_new_tokens=5), lambda: False)
    queued_text = []
    waiter = threading.Thread(target=lambda: queued_text.extend(queued))
    waiter.start()
    waiter.join(timeout=1.0)
    assert waiter.is_alive() and queued.first_token_at is None
    # ...until the first is stopped; then it runs straight away.
    cancel.set()
    runner.join(timeout=30)
    waiter.join(timeout=30)
    assert endless.finish_reason == "cancelled" and 0 < endless.completion_tokens < 3000
    assert "".join(queued_text) and queued.completion_tokens == 5 and queued.finish_reason == "length"


def test_abandoned_stream_frees_its_slot(varied_model_dir):
    backend = DynamicBatchingBackend(str(varied_model_dir), device="cpu", max_batch=1)
    abandoned = backend.stream(user("go on"), SamplingParams(max_new_tokens=3000), lambda: False)
    next(iter(abandoned))
    abandoned.deltas.close()  # what garbage collection does to a stream whose reader broke off
    after = backend.stream(user("next"), SamplingParams(max_new_tokens=5), lambda: False)
    assert "".join(after) and after.completion_tokens == 5


def test_a_long_answer_arrives_whole(dynamic, single):
    """Hundreds of steps: the cache outgrows its spare columns more than once."""
    expected = generate_alone(single, PROMPTS[1], 400)
    text = "".join(dynamic.stream(user(PROMPTS[1]), SamplingParams(temperature=0, max_new_tokens=400), lambda: False))
    assert text == expected


def test_context_limit_keeps_the_system_prompt_or_refuses(dynamic, monkeypatch):
    monkeypatch.setattr(dynamic, "max_context", 120)
    history = [{"role": "system", "content": "SYSTEM RULES"}]
    for i in range(20):
        history += [
            {"role": "user", "content": f"question {i} " * 3},
            {"role": "assistant", "content": f"answer {i} " * 3},
        ]
    history.append({"role": "user", "content": "last question"})
    stream = dynamic.stream(history, SamplingParams(temperature=0, max_new_tokens=20), lambda: False)
    assert stream.prompt_tokens <= 100 and "".join(stream) and stream.completion_tokens == 20
    with pytest.raises(ContextTooLong, match="tokens"):
        dynamic.stream(user("word " * 200), SamplingParams(max_new_tokens=16), lambda: False)


def test_stream_interface_matches_the_other_engines(tiny_model_dir):
    """The tiny model that ends its turns: finish reasons, counts and timings
    as `generate` reports them."""
    backend = DynamicBatchingBackend(str(tiny_model_dir), device="cpu")
    stream = backend.stream(user("Hello there"), SamplingParams(max_new_tokens=12), lambda: False)
    assert isinstance(stream, GenerationStream)
    text = "".join(stream)
    assert text and stream.prompt_tokens > 0
    assert stream.finish_reason in ("stop", "length") and 0 < stream.completion_tokens <= 12
    assert stream.ttft_seconds is not None and stream.ttft_seconds >= 0
    assert stream.finished_at >= stream.first_token_at
    generate = LocalBackend(str(tiny_model_dir), device="cpu")
    params = SamplingParams(temperature=0, max_new_tokens=12)
    alone = generate.stream(user("Hi"), params, lambda: False)
    batched = backend.stream(user("Hi"), params, lambda: False)
    assert "".join(batched) == "".join(alone)
    assert (batched.completion_tokens, batched.finish_reason) == (alone.completion_tokens, alone.finish_reason)


def test_a_failing_step_ends_the_answer_with_the_error_and_the_next_one_runs(varied_model_dir, monkeypatch):
    backend = DynamicBatchingBackend(str(varied_model_dir), device="cpu")
    forward = backend.model.forward
    calls = []

    def fails_on_the_first_step(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the prefill passes, the first decoding step fails
            raise RuntimeError("out of memory")
        return forward(*args, **kwargs)

    monkeypatch.setattr(backend.model, "forward", fails_on_the_first_step)
    with pytest.raises(RuntimeError, match="out of memory"):
        "".join(backend.stream(user("hi"), SamplingParams(max_new_tokens=5), lambda: False))
    after = backend.stream(user("hi"), SamplingParams(max_new_tokens=5), lambda: False)
    assert "".join(after) and after.completion_tokens == 5
