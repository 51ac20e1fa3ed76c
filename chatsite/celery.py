"""The Celery app. Queues: `moderation` (cheap checks), `generation` (owns the
chat model, one copy per process), `training` (one job at a time)."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
# The moderation and generation workers run torch side by side on the same
# cores. OpenMP threads that spin while they wait take the cores from the
# other worker: with the classifier moderating input, the stack's answer
# rate was 0.48x of `model.generate` in one run of bench/chat_latency.py,
# 0.87x in the next with waiting threads asleep (a shared, noisy machine:
# a hint, not a measurement). Read when torch loads, so set before that;
# the environment still wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

app = Celery("chatsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
