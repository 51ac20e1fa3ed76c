"""Backends stream an answer's text for a list of chat messages."""
from .base import ContextTooLong, GenerationBackend, GenerationStream, SamplingParams

ENGINES = ("generate", "continuous")


def load_local_backend(path: str, *, engine: str = "generate", device: str = "auto"):
    """The model at `path` (a directory or hub id) behind one of the local
    engines: `generate` runs each request on its own; `continuous` shares
    forward passes between concurrent requests (continuous batching)."""
    if engine == "continuous":
        from .batched import BatchedLocalBackend

        return BatchedLocalBackend(path, device=device)
    if engine == "generate":
        from .local import LocalBackend

        return LocalBackend(path, device=device)
    raise ValueError(f"Unknown generation engine {engine!r}: choose one of {', '.join(ENGINES)}.")


__all__ = ["ContextTooLong", "ENGINES", "GenerationBackend", "GenerationStream", "SamplingParams", "load_local_backend"]
