"""The Celery app. Queues: `moderation` (cheap checks), `generation` (owns the
chat model, one copy per process), `training` (one job at a time)."""

import os

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")

app = Celery("chatsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["chatsite"])  # housekeeping (chatsite/tasks.py)

# Request ids follow a message from the process that enqueued it into the
# worker's log lines (core/request_ids.py).
from core import request_ids  # noqa: E402

before_task_publish.connect(request_ids.task_publish_carry_id, weak=False, dispatch_uid="request_ids.publish")
task_prerun.connect(request_ids.task_bind_id, weak=False, dispatch_uid="request_ids.prerun")
task_postrun.connect(request_ids.task_unbind_id, weak=False, dispatch_uid="request_ids.postrun")
