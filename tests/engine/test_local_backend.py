import pytest

from engine.backends import ContextTooLong, SamplingParams
from engine.backends.local import LocalBackend


@pytest.fixture(scope="module")
def backend(tiny_model_dir):
    return LocalBackend(str(tiny_model_dir), device="cpu")


def test_stream_yields_text_and_counts_tokens(backend):
    stream = backend.stream([{"role": "user", "content": "Hello there"}], SamplingParams(max_new_tokens=12), lambda: False)
    text = "".join(stream)
    assert text
    assert stream.completion_tokens == 12
    assert stream.prompt_tokens > 0
    assert stream.finish_reason == "length"
    assert stream.ttft_seconds is not None and stream.ttft_seconds >= 0
    assert stream.tokens_per_second and stream.tokens_per_second > 0


def test_greedy_is_deterministic(backend):
    params = SamplingParams(temperature=0.0, max_new_tokens=10)
    first = "".join(backend.stream([{"role": "user", "content": "Hi"}], params, lambda: False))
    second = "".join(backend.stream([{"role": "user", "content": "Hi"}], params, lambda: False))
    assert first == second


def test_should_stop_cancels_between_steps(backend):
    calls = []

    def should_stop():
        calls.append(1)
        return len(calls) > 5

    stream = backend.stream([{"role": "user", "content": "Hi"}], SamplingParams(max_new_tokens=500), should_stop)
    "".join(stream)
    assert stream.finish_reason == "cancelled"
    assert stream.completion_tokens < 20


def test_old_turns_are_dropped_but_system_prompt_kept(backend, monkeypatch):
    monkeypatch.setattr(backend, "max_context", 120)
    history = [{"role": "system", "content": "SYSTEM RULES"}]
    for i in range(20):
        history += [{"role": "user", "content": f"question {i} " * 3}, {"role": "assistant", "content": f"answer {i} " * 3}]
    history.append({"role": "user", "content": "last question"})
    ids = backend.encode_chat(history, max_new_tokens=20)
    prompt = backend.tokenizer.decode(ids[0])
    assert ids.shape[1] <= 100
    assert "SYSTEM RULES" in prompt
    assert "last question" in prompt
    assert "question 0 " not in prompt


def test_a_message_longer_than_the_context_is_a_clear_error(backend, monkeypatch):
    monkeypatch.setattr(backend, "max_context", 64)
    with pytest.raises(ContextTooLong, match="tokens"):
        backend.encode_chat([{"role": "user", "content": "word " * 200}], max_new_tokens=16)


def test_stop_strings_end_the_answer_and_never_show(tmp_path):
    from engine.tiny import build_tiny_chat_model

    # Larger initial weights: greedy answers that do not repeat one token.
    backend = LocalBackend(str(build_tiny_chat_model(tmp_path, never_ends=True, init_std=0.3)), device="cpu")
    params = SamplingParams(temperature=0.0, max_new_tokens=30)
    full = "".join(backend.stream([{"role": "user", "content": "Hi"}], params, lambda: False))
    stop = full[10:13]
    assert full.find(stop) > 0
    stream = backend.stream(
        [{"role": "user", "content": "Hi"}], SamplingParams(temperature=0.0, max_new_tokens=30, stop=(stop,)), lambda: False
    )
    assert "".join(stream) == full[: full.find(stop)]
