"""Worker side of candidate generation (the `generation` queue): sample
answers to a prompt from the chosen model versions with varied sampling,
keep the distinct ones, add the prompt's demonstrations, and make the
ranking task.

Varied sampling because rankings teach a reward model most when the
answers differ: a cool, a warm and a hot sample of one model already
differ in style and in mistakes.
"""

import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.errors import UserError
from core.text import clean_text
from engine.backends import ContextTooLong, SamplingParams
from engine.backends.remote import RemoteGenerationError
from registry.serving import ModelUnavailable, version_backend

from .assignments import candidate_add, task_create_ranking
from .models import MIN_CANDIDATES, Candidate, CandidateGeneration
from .text import text_hash

logger = logging.getLogger(__name__)

# (temperature, top_p) in the order samples use them, per model version.
SAMPLING_PLAN = ((0.7, 0.9), (1.0, 0.95), (0.3, 0.8), (1.2, 1.0), (0.9, 0.7))
# Samples tried per missing candidate before giving up on duplicates.
ATTEMPTS_PER_CANDIDATE = 3
# Rounds of one generation are seeded generation.pk * this + round.
SEEDS_PER_GENERATION = 1000


def _sample(version, messages: list[dict], params: SamplingParams) -> tuple[str, str]:
    """The answer and why the model stopped writing it ("stop" or
    "length", engine.backends.GenerationStream.finish_reason)."""
    backend, _ = version_backend(version)
    stream = backend.stream(messages, params, should_stop=lambda: False)
    text = "".join(stream)
    return text, stream.finish_reason


def _fail(generation: CandidateGeneration, error: str) -> None:
    generation.state = CandidateGeneration.State.FAILED
    generation.error = error
    generation.finished_at = timezone.now()
    generation.save(update_fields=["state", "error", "finished_at"])


def _candidates(generation: CandidateGeneration) -> list[Candidate]:
    """Up to K distinct candidates: the prompt's newest demonstrations and
    the chat answers users gave a thumbs down (leaving room for at least
    one fresh model answer), then samples that cycle through the versions
    and, round by round, the sampling plan. A disliked chat answer is worth
    ranking against fresh ones: it is what the reward model must learn to
    score low.

    The versions of one round share a seed, so their answers differ by the
    model rather than by the luck of the draw; the seed is stored with each
    candidate, so any of them can be sampled again."""
    prompt, k = generation.prompt, generation.k
    preselected = Candidate.objects.filter(prompt=prompt).filter(
        Q(origin=Candidate.Origin.DEMONSTRATION) | Q(source_feedback__isnull=False)
    )
    chosen: dict[str, Candidate] = {c.text_hash: c for c in preselected.distinct().order_by("-id")[: k - 1]}
    versions = list(generation.model_versions.order_by("id"))
    attempts = (k - len(chosen)) * ATTEMPTS_PER_CANDIDATE
    for attempt in range(attempts):
        if len(chosen) >= k:
            break
        version = versions[attempt % len(versions)]
        round_number = attempt // len(versions)
        temperature, top_p = SAMPLING_PLAN[round_number % len(SAMPLING_PLAN)]
        sampling = {
            "temperature": temperature,
            "top_p": top_p,
            "max_new_tokens": generation.max_new_tokens,
            "seed": generation.pk * SEEDS_PER_GENERATION + round_number,
        }
        params = SamplingParams(**sampling)
        text, finish_reason = _sample(version, prompt.messages, params)
        text = clean_text(text).strip()
        if not text or text_hash(text) in chosen:
            continue
        candidate = candidate_add(
            prompt=prompt,
            text=text,
            origin=Candidate.Origin.MODEL,
            model_version=version,
            sampling=sampling,
            finish_reason=finish_reason,
        )
        chosen[candidate.text_hash] = candidate
    if len(chosen) < MIN_CANDIDATES:
        raise UserError(
            "too_few",
            f"Only {len(chosen)} distinct answer(s) came out of {attempts} samples; a ranking needs {MIN_CANDIDATES}.",
        )
    return list(chosen.values())


def candidates_generate(*, generation_id: int) -> None:
    """Does one CandidateGeneration. Claims the row (queued -> running)
    first, so a task delivered twice, or a row already done, is left
    alone. Fewer distinct answers than K still make a task when there are
    at least two; the row then says so."""
    claimed = CandidateGeneration.objects.filter(pk=generation_id, state=CandidateGeneration.State.QUEUED).update(
        state=CandidateGeneration.State.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return
    generation = CandidateGeneration.objects.select_related("prompt").get(pk=generation_id)
    try:
        candidates = _candidates(generation)
    except (UserError, ContextTooLong, RemoteGenerationError, ModelUnavailable) as error:
        _fail(generation, str(error))
        return
    except Exception:
        logger.exception("Candidate generation %s failed", generation_id)
        _fail(generation, "The model failed while generating; the worker's log has the details.")
        return
    with transaction.atomic():
        task = task_create_ranking(
            prompt=generation.prompt, candidates=candidates, required_annotations=generation.required_annotations
        )
        generation.state = CandidateGeneration.State.DONE
        generation.task = task
        generation.finished_at = timezone.now()
        generation.error = (
            "" if len(candidates) == generation.k else f"Only {len(candidates)} distinct answers of {generation.k}."
        )
        generation.save(update_fields=["state", "task", "finished_at", "error"])
