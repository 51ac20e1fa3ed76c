"""Housekeeping that Celery beat runs (the `beat` role of scripts/serve.sh):
answers whose worker died are interrupted every GENERATION_REAP_SECONDS,
and the sockets watching them hear so; every HOUSEKEEPING_SECONDS, other
work whose worker died is ended and training jobs, chat messages and
annotators' answers waiting for moderation whose task the broker lost are
sent again; hourly, deleted conversations past their retention are purged. Nothing else looks for dead work, so an idle
page or socket costs no query."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def reap_interrupted_answers_task() -> None:
    from chat.services import messages_reap_interrupted

    reaped = messages_reap_interrupted()
    if reaped:
        logger.info("Housekeeping: %d answers interrupted (%s)", len(reaped), ", ".join(map(str, reaped)))


@shared_task(ignore_result=True)
def reap_stale_work_task() -> None:
    from chat.dispatch import chat_work_redispatch_lost
    from chat.imports_service import chat_imports_expire
    from jobs.dispatch import training_jobs_redispatch_lost
    from jobs.services import training_jobs_reap_stale
    from labeling.assignments import assignments_expire
    from labeling.demonstration_moderation import demonstrations_redispatch_lost
    from labeling.services import candidate_generations_expire

    reaped = {
        "training jobs failed": len(training_jobs_reap_stale()),
        "candidate generations failed": candidate_generations_expire(),
        "annotation leases expired": assignments_expire(),
        "training jobs sent again": len(training_jobs_redispatch_lost()),
        "chat tasks sent again": len(chat_work_redispatch_lost()),
        "demonstration moderation tasks sent again": len(demonstrations_redispatch_lost()),
        "chat imports given up": chat_imports_expire(),
    }
    if any(reaped.values()):
        logger.info("Housekeeping: %s", ", ".join(f"{count} {what}" for what, count in reaped.items() if count))


@shared_task(ignore_result=True)
def purge_deleted_conversations_task() -> None:
    from chat.services import conversations_purge

    purged = conversations_purge()
    if purged:
        logger.info("Housekeeping: %d deleted conversations purged", purged)
