"""Which dtype the chat model is loaded in (GENERATION_DTYPE)."""

import pytest
import torch

import engine.backends as backends
from engine.backends import resolve_dtype


@pytest.mark.parametrize("amx", [True, False])
def test_auto_takes_bfloat16_for_dynamic_batching_on_a_cpu_with_amx_only(monkeypatch, amx):
    monkeypatch.setattr(backends, "_cpu_has_amx", lambda: amx)
    assert resolve_dtype("auto", "dynamic", "cpu") == (torch.bfloat16 if amx else None)
    # One request at a time gains nothing from bfloat16 on a CPU; the GPU
    # default (bfloat16) is the backend's own.
    assert resolve_dtype("auto", "generate", "cpu") is None
    assert resolve_dtype("auto", "dynamic", "cuda") is None


def test_an_explicit_dtype_wins_and_a_wrong_one_is_named(monkeypatch):
    monkeypatch.setattr(backends, "_cpu_has_amx", lambda: True)
    assert resolve_dtype("float32", "dynamic", "cpu") == torch.float32
    assert resolve_dtype("bfloat16", "generate", "cpu") == torch.bfloat16
    with pytest.raises(ValueError, match="Unknown generation dtype 'float16'"):
        resolve_dtype("float16", "dynamic", "cpu")


def test_the_backend_loads_in_the_dtype_asked_for(tiny_model_dir):
    backend = backends.load_local_backend(str(tiny_model_dir), engine="generate", device="cpu", dtype="bfloat16")
    assert backend.model.dtype == torch.bfloat16
