import logging
import threading

logger = logging.getLogger(__name__)


def preload_chat_model(sender, **kwargs):
    """A generation worker loads the chat model as it starts, so the first
    answer does not wait seconds for it."""
    queues = getattr(sender.app.amqp.queues, "consume_from", None) or {}
    if "generation" not in queues:
        return

    def load():
        from .generation import chat_backend

        try:
            chat_backend()
        except Exception:  # the first task reports the same error to its user
            logger.exception("Could not preload the chat model")

    threading.Thread(target=load, name="preload-chat-model", daemon=True).start()
