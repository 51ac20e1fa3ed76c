"""What a Celery worker does as it starts, before its first task."""

import logging
import threading

logger = logging.getLogger(__name__)


def import_model_libraries(sender=None, **kwargs):
    """Imports transformers' model classes once, in the worker's main thread,
    before any task runs: its lazy imports are not thread-safe, and two pool
    threads importing at once (the chat model's preload and the moderation
    classifier, say) can see `ImportError`."""
    from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer  # noqa: F401


def preload_chat_model(sender, **kwargs):
    """A generation worker loads the chat model as it starts, so the first
    answer does not wait seconds for it."""
    queues = getattr(sender.app.amqp.queues, "consume_from", None) or {}
    if "generation" not in queues:
        return
    from engine.passing_thread import mark_serving_chat_model

    # Before any task runs: an input moderation that comes first must not
    # leave an OpenMP team in a pool thread (engine/passing_thread.py).
    mark_serving_chat_model()

    def load():
        from registry.serving import version_backend

        try:
            version_backend()
        except Exception:  # the first task reports the same error to its user
            logger.exception("Could not preload the chat model")

    threading.Thread(target=load, name="preload-chat-model", daemon=True).start()
