"""Housekeeping that Celery beat runs every HOUSEKEEPING_SECONDS (the `beat`
process of the Procfile): work whose worker died is ended even when nobody
opens the page that would notice it, and training jobs and chat messages
whose task the broker lost are sent again."""
import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def reap_stale_work_task() -> None:
    from chat.dispatch import chat_work_redispatch_lost
    from chat.services import messages_reap_interrupted
    from jobs.dispatch import training_jobs_redispatch_lost
    from jobs.services import training_jobs_reap_stale
    from labeling.services import assignments_expire, candidate_generations_expire

    reaped = {
        "answers interrupted": len(messages_reap_interrupted()),
        "training jobs failed": len(training_jobs_reap_stale()),
        "candidate generations failed": candidate_generations_expire(),
        "annotation leases expired": assignments_expire(),
        "training jobs sent again": len(training_jobs_redispatch_lost()),
        "chat tasks sent again": len(chat_work_redispatch_lost()),
    }
    if any(reaped.values()):
        logger.info("Housekeeping: %s", ", ".join(f"{count} {what}" for what, count in reaped.items() if count))
