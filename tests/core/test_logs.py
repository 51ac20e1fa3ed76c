import logging

from core.logs import QuietPeriodicTasks


def _record(name, level, message, *args):
    return logging.LogRecord(name, level, __file__, 1, message, args, None)


def test_the_reapers_routine_lines_are_dropped_and_nothing_else():
    quiet = QuietPeriodicTasks()
    task = "chatsite.tasks.reap_interrupted_answers_task"
    assert not quiet.filter(_record("celery.beat", logging.INFO, "Scheduler: Sending due task reap (%s)", task))
    assert not quiet.filter(_record("celery.app.trace", logging.INFO, "Task %s[1] succeeded in 0.004s: None", task))
    assert quiet.filter(_record("celery.app.trace", logging.ERROR, "Task %s[1] raised", task))
    assert quiet.filter(
        _record("celery.app.trace", logging.INFO, "Task %s[1] succeeded", "chat.tasks.generate_answer_task")
    )
    assert quiet.filter(_record("chatsite.tasks", logging.INFO, "Housekeeping: 1 answers interrupted (%s)", task))
