import pytest

from engine.backends import ContextTooLong, SamplingParams
from engine.backends.local import LocalBackend


@pytest.fixture(scope="module")
def backend(tiny_model_dir):
    return LocalBackend(str(tiny_model_dir), device="cpu")


def test_stream_yields_text_and_counts_tokens(backend):
    stream = backend.stream(
        [{"role": "user", "content": "Hello there"}], SamplingParams(max_new_tokens=12), lambda: False
    )
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
        history += [
            {"role": "user", "content": f"question {i} " * 3},
            {"role": "assistant", "content": f"answer {i} " * 3},
        ]
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
        [{"role": "user", "content": "Hi"}],
        SamplingParams(temperature=0.0, max_new_tokens=30, stop=(stop,)),
        lambda: False,
    )
    assert "".join(stream) == full[: full.find(stop)]


def _encode_chat_before(backend, messages, max_new_tokens):
    """encode_chat up to c3a156c: the two oldest turns dropped and the whole
    chat rendered again until it fits (quadratic in the turns)."""
    system = [m for m in messages[:1] if m["role"] == "system"]
    turns = messages[len(system) :]
    budget = backend.max_context - max_new_tokens
    continues = bool(turns) and turns[-1]["role"] == "assistant"  # since issue 17: a final assistant turn goes on
    while True:
        ids = backend.tokenizer.apply_chat_template(
            system + turns,
            add_generation_prompt=not continues,
            continue_final_message=continues,
            return_tensors="pt",
            return_dict=True,
        )["input_ids"]
        if ids.shape[1] <= budget:
            return ids
        if len(turns) <= 1:
            raise ContextTooLong("too long")
        turns = turns[2:] if len(turns) > 2 else turns[-1:]


def test_the_newest_turns_that_fit_are_kept_as_before(backend, monkeypatch):
    """Random chats, context sizes and turn lengths, odd and even turn
    counts: the same prompt as the quadratic original, or the same refusal."""
    import random

    import torch

    rng = random.Random(15)
    words = ["a", "tide", "the moon pulls the sea", "x" * 40, "über", "\n\n", "", "def f(): pass"]
    for _ in range(300):
        messages = [{"role": "system", "content": rng.choice(words)}] if rng.random() < 0.5 else []
        for i in range(rng.choice([1, 2, 3, 4, 7, 12, 31, 80])):
            role = "user" if i % 2 == 0 else "assistant"
            messages.append({"role": role, "content": " ".join(rng.choices(words, k=rng.randint(0, 6)))})
        monkeypatch.setattr(backend, "max_context", rng.choice([48, 80, 150, 400, 1500]))
        try:
            expected = _encode_chat_before(backend, messages, 16)
        except ContextTooLong:
            with pytest.raises(ContextTooLong):
                backend.encode_chat(messages, 16)
            continue
        assert torch.equal(backend.encode_chat(messages, 16), expected), messages


def test_a_history_of_thousands_of_turns_is_rendered_a_few_times(backend, monkeypatch):
    """The original rendered and tokenised the chat once per two turns it
    dropped: 4,900 times here, over up to 10,000 turns each."""
    monkeypatch.setattr(backend, "max_context", 500)
    history = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i}"} for i in range(10_000)]
    history.append({"role": "user", "content": "last question"})
    renders = []
    render = backend.tokenizer.apply_chat_template
    monkeypatch.setattr(
        backend.tokenizer, "apply_chat_template", lambda chat, **kw: renders.append(len(chat)) or render(chat, **kw)
    )
    ids = backend.encode_chat(history, max_new_tokens=20)
    assert ids.shape[1] <= 480 and "last question" in backend.tokenizer.decode(ids[0])
    assert len(renders) <= 12 and sorted(renders)[-2] < 300, renders  # the whole chat once, then only what nearly fits
