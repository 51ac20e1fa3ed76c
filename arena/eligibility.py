"""Which versions play in the arena, and the check before one may.

Anyone allowed to train registers policy versions, and arena rounds show
them to every arena user, so a version plays only once an admin enabled it
on /models/ and a smoke generation passed: the generation worker loads it
the way an arena answer would (registry.serving.version_backend) and has it
answer a one-turn conversation with a few tokens. A version that cannot
(its files missing here, no chat template, weights that fail) stays out
with the reason shown to the admin, instead of breaking users' rounds. The
serving version plays without this: promoting it was the admin's decision.
"""

import logging

from django.db import transaction

from registry.models import ModelVersion

from .errors import ArenaError

logger = logging.getLogger(__name__)

SMOKE_MESSAGES = [{"role": "user", "content": "Say hello."}]
SMOKE_TOKENS = 4


def arena_version_enable(*, version: ModelVersion) -> ModelVersion:
    """Asks the generation worker for the smoke check; the version plays
    once it passes (arena_version_check). Precondition: an admin asked."""
    if version.kind != ModelVersion.Kind.POLICY:
        raise ArenaError("invalid_version", f"{version.name} is not a chat model, so it cannot play in the arena.")
    from .tasks import arena_version_check_task

    version.arena_enabled = False
    version.arena_check, version.arena_check_error = ModelVersion.ArenaCheck.CHECKING, ""
    version.save(update_fields=["arena_enabled", "arena_check", "arena_check_error"])
    transaction.on_commit(lambda: arena_version_check_task.delay(version.pk))
    return version


def arena_version_disable(*, version: ModelVersion) -> ModelVersion:
    """Takes the version out of new rounds; rounds already started finish."""
    version.arena_enabled = False
    version.arena_check = ModelVersion.ArenaCheck.NONE
    version.save(update_fields=["arena_enabled", "arena_check"])
    return version


def _smoke_generation(version: ModelVersion) -> str:
    """The version's reply to SMOKE_MESSAGES, greedy and SMOKE_TOKENS long;
    raises on anything that would break an arena answer."""
    from engine.backends import SamplingParams
    from registry.serving import version_backend

    backend, _ = version_backend(version)
    stream = backend.stream(
        SMOKE_MESSAGES, SamplingParams(temperature=0.0, max_new_tokens=SMOKE_TOKENS), should_stop=lambda: False
    )
    text = "".join(stream)
    if stream.completion_tokens < 1:
        raise ValueError("it wrote no token")
    return text


def _reason(error: Exception) -> str:
    text = str(error)
    if "chat_template" in text or "chat template" in text:
        return "The model has no chat template, so it cannot answer a conversation."
    return f"{type(error).__name__}: {text}"[:500]


def arena_version_check(*, version_id: int) -> None:
    """The smoke check, in the generation worker. Acts only on a version
    still waiting for it, so a check delivered twice or overtaken by a
    disable changes nothing."""
    version = ModelVersion.objects.filter(pk=version_id, arena_check=ModelVersion.ArenaCheck.CHECKING).first()
    if version is None:
        return
    try:
        _smoke_generation(version)
    except Exception as error:  # whatever it is, the version must not play
        logger.warning("Arena check of %s failed: %s", version.name, error)
        ModelVersion.objects.filter(pk=version_id, arena_check=ModelVersion.ArenaCheck.CHECKING).update(
            arena_check=ModelVersion.ArenaCheck.FAILED, arena_check_error=_reason(error)
        )
        return
    logger.info("Arena check of %s passed; it plays in the arena", version.name)
    ModelVersion.objects.filter(pk=version_id, arena_check=ModelVersion.ArenaCheck.CHECKING).update(
        arena_check=ModelVersion.ArenaCheck.PASSED, arena_check_error="", arena_enabled=True
    )
