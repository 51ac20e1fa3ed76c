"""Keeps the every-few-seconds housekeeping out of the logs.

Beat sends the dead-answer reaper every GENERATION_REAP_SECONDS, and Celery
logs each sending, receipt and success at INFO: three lines every two
seconds drowned the worker's log. Those three are dropped; what the reaper
itself logs (answers it interrupted) and any warning or error stay.
"""

import logging

QUIET_TASKS = ("chatsite.tasks.reap_interrupted_answers_task",)
_CELERY_LOGGERS = ("celery.app.trace", "celery.worker.strategy", "celery.beat")


class QuietPeriodicTasks(logging.Filter):
    def filter(self, record):
        if record.levelno > logging.INFO or not record.name.startswith(_CELERY_LOGGERS):
            return True
        message = record.getMessage()
        return not any(task in message for task in QUIET_TASKS)
