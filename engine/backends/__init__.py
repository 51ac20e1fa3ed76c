"""Backends stream an answer's text for a list of chat messages."""

from .base import ContextTooLong, GenerationBackend, GenerationStream, SamplingParams

ENGINES = ("auto", "dynamic", "generate", "continuous")
DTYPES = ("auto", "float32", "bfloat16")


def load_local_backend(path: str, *, engine: str = "auto", device: str = "auto", dtype: str = "auto"):
    """The model at `path` (a directory or hub id) behind one of the local
    engines: `dynamic` shares each decoding step between concurrent requests
    (our scheduler, the fastest on a CPU); `generate` runs each request on
    its own; `continuous` is transformers' continuous batching (paged, the
    fastest on a GPU). `auto` picks by device; `dtype` "auto" too
    (`resolve_dtype`). Loads in a passing thread, so the caller's (often
    long-lived) thread keeps no OpenMP team (engine/passing_thread.py)."""
    from ..loading import model_loading_lock
    from ..passing_thread import in_passing_thread, mark_serving_chat_model

    mark_serving_chat_model()
    with model_loading_lock:
        return in_passing_thread(lambda: _load(path, engine, device, dtype), "load-chat-model")


def resolve_dtype(name: str, engine: str, device: str):
    """The weights' dtype; None leaves it to the backend (bfloat16 on a GPU,
    float32 on a CPU). "auto" also takes bfloat16 for the dynamic engine on
    a CPU with AMX, whose bfloat16 matrix units pay once several answers
    share a step: through the whole stack on a 2-core AMX CPU, 8 at once
    gave 78.0 tokens/s against 57.1 in float32, 16 gave 133.1 against 78.6,
    and one alone 19.1 against 19.5 (bench/results/chat_concurrency.json)."""
    import torch

    if name not in DTYPES:
        raise ValueError(f"Unknown generation dtype {name!r}: choose one of {', '.join(DTYPES)}.")
    if name != "auto":
        return getattr(torch, name)
    if engine == "dynamic" and not device.startswith("cuda") and _cpu_has_amx():
        return torch.bfloat16
    return None


def _cpu_has_amx() -> bool:
    from training.device import cpu_has_amx  # the one probe, shared with the recipes

    return cpu_has_amx()


def _load(path: str, engine: str, device: str, dtype_name: str):
    from .local import pick_device

    if engine == "auto":
        engine = "continuous" if pick_device(device).startswith("cuda") else "dynamic"
    dtype = resolve_dtype(dtype_name, engine, pick_device(device))
    if engine == "dynamic":
        from .dynamic import DynamicBatchingBackend

        return DynamicBatchingBackend(path, device=device, dtype=dtype)
    if engine == "continuous":
        from .batched import BatchedLocalBackend

        return BatchedLocalBackend(path, device=device, dtype=dtype)
    if engine == "generate":
        from .local import LocalBackend

        return LocalBackend(path, device=device, dtype=dtype)
    raise ValueError(f"Unknown generation engine {engine!r}: choose one of {', '.join(ENGINES)}.")


__all__ = [
    "ContextTooLong",
    "DTYPES",
    "ENGINES",
    "GenerationBackend",
    "GenerationStream",
    "SamplingParams",
    "load_local_backend",
    "resolve_dtype",
]
