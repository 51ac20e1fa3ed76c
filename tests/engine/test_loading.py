"""Two models loaded at once in one process (the chat model and the
moderation classifier's MiniLM, in different dtypes) both come out whole:
loads take turns (engine/loading.py)."""

import threading

import torch

from engine.backends import SamplingParams, load_local_backend
from moderation.classifier.embedder import Embedder, get_embedder


def test_concurrent_loads_do_not_corrupt_each_other(tiny_model_dir, monkeypatch):
    from moderation.classifier import embedder as module

    for _ in range(3):
        monkeypatch.setattr(module, "_embedders", {})
        results, errors = {}, []

        def load(name, function, results=results, errors=errors):
            try:
                results[name] = function()
            except Exception as error:  # reported below
                errors.append(error)

        threads = [
            threading.Thread(
                target=load,
                args=("chat", lambda: load_local_backend(str(tiny_model_dir), engine="generate", device="cpu")),
            ),
            threading.Thread(target=load, args=("embedder", lambda: get_embedder(dtype="bfloat16"))),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        chat, embedder = results["chat"], results["embedder"]
        assert isinstance(embedder, Embedder)
        assert {p.dtype for p in chat.model.parameters()} == {torch.float32}
        assert {p.dtype for p in embedder.model.parameters()} == {torch.bfloat16}
        assert not any(p.is_meta for p in chat.model.parameters())
        answer = "".join(
            chat.stream(
                [{"role": "user", "content": "hi"}], SamplingParams(temperature=0.0, max_new_tokens=4), lambda: False
            )
        )
        assert isinstance(answer, str)
