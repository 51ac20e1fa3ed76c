"""Continuous batching against one request at a time on the same model."""

import threading

import pytest
import torch

from engine.backends import SamplingParams
from engine.backends.batched import BatchedLocalBackend
from engine.backends.local import LocalBackend
from engine.tiny import build_tiny_chat_model

PROMPTS = ["hello there", "the quick brown fox", "What is the capital of France?", "Write a short poem", "2+2"]


@pytest.fixture(scope="module")
def varied_model_dir(tmp_path_factory):
    return build_tiny_chat_model(tmp_path_factory.mktemp("varied-tiny"), never_ends=True, init_std=0.3)


@pytest.fixture(scope="module")
def batched(varied_model_dir):
    backend = BatchedLocalBackend(str(varied_model_dir), device="cpu")
    yield backend
    backend.close()


def test_greedy_answers_match_single_runs_when_batched(varied_model_dir, batched):
    params = SamplingParams(temperature=0, max_new_tokens=24)
    single = LocalBackend(str(varied_model_dir), device="cpu")
    expected = []
    for prompt in PROMPTS:
        ids = single.encode_chat([{"role": "user", "content": prompt}], 24)
        out = single.model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=24, do_sample=False)
        expected.append(single.tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True))
    assert len(set(expected)) == len(PROMPTS), "the prompts lead to different answers"
    results = [None] * len(PROMPTS)

    def run(i):
        stream = batched.stream([{"role": "user", "content": PROMPTS[i]}], params, lambda: False)
        results[i] = ("".join(stream), stream.completion_tokens, stream.finish_reason)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(PROMPTS))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert [r[0] for r in results] == expected
    assert all(r[1] == 24 and r[2] == "length" for r in results)


def test_cancel_frees_the_slot_at_once(batched):
    polls = []
    stream = batched.stream(
        [{"role": "user", "content": "go on"}],
        SamplingParams(max_new_tokens=3000),
        lambda: len(polls) > 3 or polls.append(1),
    )
    "".join(stream)
    assert stream.finish_reason == "cancelled" and stream.completion_tokens < 3000
    # The freed slot serves the next request straight away.
    after = batched.stream([{"role": "user", "content": "next"}], SamplingParams(max_new_tokens=5), lambda: False)
    assert "".join(after) and after.completion_tokens == 5


def test_stop_strings_end_the_answer(batched, varied_model_dir):
    params = SamplingParams(temperature=0, max_new_tokens=24)
    full = "".join(batched.stream([{"role": "user", "content": PROMPTS[0]}], params, lambda: False))
    stop = full[8:11]
    cut = "".join(
        batched.stream(
            [{"role": "user", "content": PROMPTS[0]}],
            SamplingParams(temperature=0, max_new_tokens=24, stop=(stop,)),
            lambda: False,
        )
    )
    assert cut == full[: full.find(stop)]
