from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"

    def ready(self):
        from celery.signals import worker_init, worker_ready, worker_shutdown

        from .worker_start import forget_generation_worker, import_model_libraries, warm_generation_worker

        worker_init.connect(import_model_libraries, dispatch_uid="chat.import_model_libraries")
        worker_ready.connect(warm_generation_worker, dispatch_uid="chat.warm_generation_worker")
        worker_shutdown.connect(forget_generation_worker, dispatch_uid="chat.forget_generation_worker")
