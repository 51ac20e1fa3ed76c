from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"

    def ready(self):
        from celery.signals import worker_ready

        from .signals import preload_chat_model

        worker_ready.connect(preload_chat_model, dispatch_uid="chat.preload_chat_model")
