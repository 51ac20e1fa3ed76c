from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"

    def ready(self):
        from celery.signals import worker_init, worker_ready

        from .worker_start import import_model_libraries, preload_chat_model

        worker_init.connect(import_model_libraries, dispatch_uid="chat.import_model_libraries")
        worker_ready.connect(preload_chat_model, dispatch_uid="chat.preload_chat_model")
