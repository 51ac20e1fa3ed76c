"""Backends stream an answer's text for a list of chat messages."""
from .base import ContextTooLong, GenerationBackend, GenerationStream, SamplingParams

ENGINES = ("auto", "dynamic", "generate", "continuous")


def load_local_backend(path: str, *, engine: str = "auto", device: str = "auto"):
    """The model at `path` (a directory or hub id) behind one of the local
    engines: `dynamic` shares each decoding step between concurrent requests
    (our scheduler, the fastest on a CPU); `generate` runs each request on
    its own; `continuous` is transformers' continuous batching (paged, the
    fastest on a GPU). `auto` picks by device. Loads in a passing thread,
    so the caller's (often long-lived) thread keeps no OpenMP team
    (engine/passing_thread.py)."""
    from ..passing_thread import in_passing_thread, mark_serving_chat_model

    from ..loading import model_loading_lock

    mark_serving_chat_model()
    with model_loading_lock:
        return in_passing_thread(lambda: _load(path, engine, device), "load-chat-model")


def _load(path: str, engine: str, device: str):
    if engine == "auto":
        from .local import pick_device

        engine = "continuous" if pick_device(device).startswith("cuda") else "dynamic"
    if engine == "dynamic":
        from .dynamic import DynamicBatchingBackend

        return DynamicBatchingBackend(path, device=device)
    if engine == "continuous":
        from .batched import BatchedLocalBackend

        return BatchedLocalBackend(path, device=device)
    if engine == "generate":
        from .local import LocalBackend

        return LocalBackend(path, device=device)
    raise ValueError(f"Unknown generation engine {engine!r}: choose one of {', '.join(ENGINES)}.")


__all__ = ["ContextTooLong", "ENGINES", "GenerationBackend", "GenerationStream", "SamplingParams", "load_local_backend"]
