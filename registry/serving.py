"""The backend that serves a model version, loaded once per process: chat
answers, arena rounds and the arena's smoke test, and labeling's candidate
samples all ask here, so a worker holds one copy of each model whatever
asked for it first. (The moderation guard loads its safety classifier
itself: it reads the logits of a different kind of model.)"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from .loaded_backends import LoadedBackends
from .selectors import chat_model_spec

logger = logging.getLogger(__name__)


class ModelUnavailable(RuntimeError):
    """This worker cannot answer with the chosen model (its files are not on
    this host); the message is fit to show and names no path."""


def _load_local_backend(path: str):
    from engine.backends import load_local_backend

    logger.info("Loading chat model from %s (%s engine)", path, settings.GENERATION_ENGINE)
    return load_local_backend(
        path, engine=settings.GENERATION_ENGINE, device=settings.GENERATION_DEVICE, dtype=settings.GENERATION_DTYPE
    )


# The serving model, plus the versions conversations picked, the arena's
# and labeling's: at most CHAT_MODELS_MAX_LOADED at once. A promoted
# version is loaded on its next answer; streams in flight keep the backend
# they hold.
loaded_backends = LoadedBackends(_load_local_backend, lambda: settings.CHAT_MODELS_MAX_LOADED)


# One pool of endpoints per process, so every answer's choice sees the
# others in flight and the endpoints marked down.
@lru_cache(maxsize=4)
def _remote_backend(base_url: str, api_key: str, timeout: float, backoff_seconds: float):
    from engine.backends.remote import OpenAIBackend

    return OpenAIBackend(base_url, api_key=api_key, timeout=timeout, backoff_seconds=backoff_seconds)


_MODEL_FILES = ("config.json", "adapter_config.json")


def _missing_here(path: str) -> bool:
    """Whether `path` names a local model directory this host lacks (or
    holds without its config). A bare `name` or `org/name` that is not a
    directory here is a hub id, left to the loader."""
    directory = Path(path).expanduser()
    if directory.is_dir():
        return not any((directory / name).is_file() for name in _MODEL_FILES)
    return directory.is_absolute() or path.startswith(("./", "../", "~")) or path.count("/") > 1


def version_backend(version=None):
    """The backend and model version to answer with: `version` when one is
    asked for (a trial, arena or labeling answer), else the serving one.
    With GENERATION_BACKEND=openai the remote servers answer, asked for the
    version's registered name, or OPENAI_MODEL for the serving model. A
    local model is loaded once per worker process and shared by its
    threads (registry.loaded_backends keeps a few); one whose directory this host lacks (a worker without the
    shared DATA_DIR) raises ModelUnavailable."""
    if settings.GENERATION_BACKEND == "openai":
        backend = _remote_backend(
            settings.OPENAI_BASE_URL,
            settings.OPENAI_API_KEY,
            settings.OPENAI_TIMEOUT_SECONDS,
            settings.OPENAI_BACKOFF_SECONDS,
        )
        # The servers know the serving model as OPENAI_MODEL, whichever side of a round it is on.
        serving = version is None or (version.is_serving and settings.OPENAI_MODEL)
        return backend.with_model(settings.OPENAI_MODEL if serving else version.name), version
    if version is not None:
        path = version.path
    else:
        path, version = chat_model_spec()
    if _missing_here(path):
        logger.warning("Model %s: %s is not on this host", version.name if version else "CHAT_MODEL", path)
        named = f"The model version {version.name}" if version else "The chat model (CHAT_MODEL)"
        raise ModelUnavailable(f"{named} is not available on this worker: its files are missing here.")
    return loaded_backends.get(path), version
