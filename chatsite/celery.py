"""The Celery app. Queues: `moderation` (cheap checks), `generation` (owns the
chat model, one copy per process), `training` (one job at a time)."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")

app = Celery("chatsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["chatsite"])  # housekeeping (chatsite/tasks.py)
