"""What a Celery worker does as it starts, before its first task, and as it
stops."""

import logging
import threading
import time

from django.conf import settings

from .worker_readiness import FAILED, READY, WorkerReadiness

logger = logging.getLogger(__name__)

# This process's readiness record, once it serves the generation queue.
_readiness: WorkerReadiness | None = None


def import_model_libraries(sender=None, **kwargs):
    """Imports transformers' model classes once, in the worker's main thread,
    before any task runs: its lazy imports are not thread-safe, and two pool
    threads importing at once (the chat model's preload and the moderation
    classifier, say) can see `ImportError`."""
    from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer  # noqa: F401


def warm_generation_worker(sender, **kwargs):
    """A generation worker loads and warms everything its first answer would
    otherwise wait for, then records itself ready (chat.worker_readiness).
    Loading the model in a thread alone left the first answer waiting for
    it, and for what still loaded lazily on that answer's path: the first
    forward passes, output moderation's profanity model and, where this
    worker also moderates, the input classifier's MiniLM. Its time to first
    text was 5.2x a later answer's; once warm, 1.6x (median of three
    starts, bench/first_answer.py, bench/results/first_answer*.json)."""
    global _readiness
    queues = getattr(sender.app.amqp.queues, "consume_from", None) or {}
    if "generation" not in queues:
        return
    from engine.passing_thread import mark_serving_chat_model

    # Before any task runs: an input moderation that comes first must not
    # leave an OpenMP team in a pool thread (engine/passing_thread.py).
    mark_serving_chat_model()
    _readiness = WorkerReadiness(sender.hostname)
    _readiness.start()
    moderates_input = "moderation" in queues
    threading.Thread(
        target=_warm, args=(_readiness, moderates_input), name="warm-generation-worker", daemon=True
    ).start()


def forget_generation_worker(sender=None, **kwargs):
    if _readiness is not None:
        _readiness.stop()


def _warm(readiness: WorkerReadiness, moderates_input: bool) -> None:
    started = time.perf_counter()
    try:
        version_name, tokens = _warm_generation()
        _warm_moderation(moderates_input)
    except Exception as error:  # the first task reports the same error to its user
        logger.exception("Could not warm the chat model")
        readiness.update(state=FAILED, error=f"{type(error).__name__}: {error}"[:300])
        return
    warm_ms = round((time.perf_counter() - started) * 1000)
    readiness.update(state=READY, version=version_name, warm_ms=warm_ms)
    logger.info("Generation worker ready: %s warmed in %d ms (%d tokens)", version_name, warm_ms, tokens)


def _warm_generation() -> tuple[str, int]:
    """Loads the serving model and has it write a couple of tokens, which
    runs the tokenizer's chat template and the first forward passes. A
    remote backend (GENERATION_BACKEND=openai) loads nothing here and is
    not asked: its servers warm themselves."""
    from pathlib import Path

    from engine.backends import SamplingParams
    from registry.serving import version_backend

    backend, version = version_backend()
    if settings.GENERATION_BACKEND == "openai":
        return settings.OPENAI_MODEL, 0
    stream = backend.stream(
        [{"role": "user", "content": "Hello"}],
        SamplingParams(temperature=0.0, max_new_tokens=2),
        should_stop=lambda: False,
    )
    for _ in stream:
        pass
    logger.info("Warm-up answer written: %d tokens", stream.completion_tokens)
    return (version.name if version else Path(backend.model_path).name), stream.completion_tokens


def _warm_moderation(moderates_input: bool) -> None:
    """Runs output moderation once (and input moderation where this worker
    serves that queue too), so the layers' models load now."""
    from moderation.pipeline import moderate

    moderate("Hello.", "assistant")
    if moderates_input:
        moderate("Hello", "user")
