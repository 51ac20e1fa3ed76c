"""Candidate generation: a real Celery worker on the generation queue
samples the tiny model, and an in-process run shows duplicates dropped."""

import pytest

from engine.tiny import build_tiny_chat_model
from labeling import generation
from labeling.assignments import demonstration_submit, task_assign_next, task_create_demonstration
from labeling.generation import candidates_generate
from labeling.models import Candidate, CandidateGeneration, Prompt, Task
from labeling.services import candidate_generations_request
from labeling.text import messages_hash
from registry.models import ModelVersion

from ..helpers.polling import eventually

CONVERSATION = [
    {"role": "user", "content": "Give me a word for happy."},
    {"role": "assistant", "content": "Joyful."},
    {"role": "user", "content": "And one for sad?"},
]


def _prompt_with_demonstration(writer) -> tuple[Prompt, Candidate]:
    prompt = Prompt.objects.create(
        messages=CONVERSATION, source=Prompt.Source.IMPORT, content_hash=messages_hash(CONVERSATION)
    )
    task_create_demonstration(prompt=prompt, required_annotations=1)
    demonstration = demonstration_submit(
        assignment=task_assign_next(annotator=writer, kind=Task.Kind.DEMONSTRATION), content="Gloomy."
    )
    return prompt, Candidate.objects.get(demonstration=demonstration)


def _wait_until_finished(generation_id: int) -> CandidateGeneration:
    def finished():
        row = CandidateGeneration.objects.get(pk=generation_id)
        return row if row.state in (CandidateGeneration.State.DONE, CandidateGeneration.State.FAILED) else None

    return eventually(finished, timeout=180, interval=0.5, what=f"generation {generation_id} finishing")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_worker_generates_k_distinct_candidates_with_the_demonstration_and_makes_the_task(
    celery_worker, tiny_model_dir, tmp_path, client, make_user, annotators
):
    writer, ranker = annotators(2)
    prompt, demonstration = _prompt_with_demonstration(writer)
    other_weights = build_tiny_chat_model(tmp_path / "tiny-b", never_ends=True, seed=1)
    versions = [
        ModelVersion.objects.create(name=name, kind="policy", source="imported", path=str(path))
        for name, path in (("tiny-a", tiny_model_dir), ("tiny-b", other_weights))
    ]
    client.force_login(make_user(username="root", role="admin"))
    response = client.post(
        "/labeling/admin/generations/",
        {
            "prompts": [prompt.pk],
            "model_versions": [v.pk for v in versions],
            "k": 4,
            "max_new_tokens": 12,
            "required_annotations": 2,
        },
    )
    assert response.status_code == 302
    requested = CandidateGeneration.objects.get()

    finished = _wait_until_finished(requested.pk)

    assert (finished.state, finished.error) == (CandidateGeneration.State.DONE, ""), celery_worker.output()[-3000:]
    task = finished.task
    assert (task.kind, task.prompt, task.required_annotations) == (Task.Kind.RANKING, prompt, 2)
    candidates = [link.candidate for link in task.task_candidates.select_related("candidate")]
    assert len(candidates) == 4 and len({c.text_hash for c in candidates}) == 4
    assert demonstration in candidates
    generated = [c for c in candidates if c.origin == Candidate.Origin.MODEL]
    assert len(generated) == 3 and all(c.text.strip() for c in generated)
    assert {c.model_version for c in generated} == set(versions)
    assert len({(c.sampling["temperature"], c.sampling["top_p"]) for c in generated}) >= 2
    assert all(c.sampling["max_new_tokens"] == 12 for c in generated)
    # The page lists it done; the writer never ranks their own answer.
    assert 'data-state="done"' in client.get("/labeling/admin/prompts/").content.decode()
    assert task_assign_next(annotator=writer, kind=Task.Kind.RANKING) is None
    assert task_assign_next(annotator=ranker, kind=Task.Kind.RANKING).task == task


@pytest.mark.django_db
def test_duplicate_samples_are_dropped(tiny_model_dir, annotators, settings):
    """Two versions of the same weights share each round's seed, so every
    second sample repeats the first and is dropped: the K candidates all
    come from the first version, in K rounds. A prompt whose samples are
    all empty (greedy on this model: newlines only) makes no task."""
    settings.GENERATION_ENGINE = "generate"
    same = [
        ModelVersion.objects.create(name=name, kind="policy", source="imported", path=str(tiny_model_dir))
        for name in ("tiny-first", "tiny-again")
    ]
    prompt = Prompt.objects.create(
        messages=CONVERSATION, source=Prompt.Source.IMPORT, content_hash=messages_hash(CONVERSATION)
    )
    (requested,) = candidate_generations_request(
        prompts=[prompt], model_versions=same, k=3, required_annotations=1, max_new_tokens=8
    )
    candidates_generate(generation_id=requested.pk)
    candidates_generate(generation_id=requested.pk)  # delivered twice: done once

    requested.refresh_from_db()
    assert (requested.state, requested.error) == ("done", "")
    candidates = [link.candidate for link in requested.task.task_candidates.select_related("candidate")]
    assert len(candidates) == 3 and {c.model_version for c in candidates} == {same[0]}
    assert sorted(c.sampling["seed"] for c in candidates) == [requested.pk * 1000 + r for r in range(3)]
    assert Candidate.objects.filter(prompt=prompt).count() == 3
    assert Task.objects.filter(kind=Task.Kind.RANKING).count() == 1


@pytest.mark.django_db
def test_each_sample_keeps_why_the_model_stopped(tmp_path, annotators, settings):
    """A model that never ends its turn runs every sample into
    max_new_tokens: each candidate says it was cut off there. The
    demonstration beside them was written by a person: no reason."""
    settings.GENERATION_ENGINE = "generate"
    weights = build_tiny_chat_model(tmp_path / "endless", never_ends=True, seed=2)
    version = ModelVersion.objects.create(name="endless", kind="policy", source="imported", path=str(weights))
    prompt, demonstration = _prompt_with_demonstration(annotators(1)[0])
    (requested,) = candidate_generations_request(
        prompts=[prompt], model_versions=[version], k=3, required_annotations=1, max_new_tokens=6
    )

    candidates_generate(generation_id=requested.pk)

    requested.refresh_from_db()
    assert requested.state == "done", requested.error
    candidates = [link.candidate for link in requested.task.task_candidates.select_related("candidate")]
    sampled = [c for c in candidates if c.origin == Candidate.Origin.MODEL]
    assert len(sampled) == 2 and {c.finish_reason for c in sampled} == {"length"}
    demonstration.refresh_from_db()
    assert demonstration in candidates and demonstration.finish_reason == ""


@pytest.mark.django_db
def test_a_prompt_with_only_empty_samples_makes_no_task(tiny_model_dir, annotators, monkeypatch, settings):
    settings.GENERATION_ENGINE = "generate"
    monkeypatch.setattr(generation, "SAMPLING_PLAN", ((0.0, 1.0),))  # greedy: newlines only, on this model
    version = ModelVersion.objects.create(name="tiny", kind="policy", source="imported", path=str(tiny_model_dir))
    prompt, demonstration = _prompt_with_demonstration(annotators(1)[0])
    (requested,) = candidate_generations_request(
        prompts=[prompt], model_versions=[version], k=3, required_annotations=1, max_new_tokens=4
    )
    candidates_generate(generation_id=requested.pk)
    requested.refresh_from_db()
    assert requested.state == "failed" and "Only 1 distinct answer(s) came out of 6 samples" in requested.error
    assert requested.task is None and not Task.objects.filter(kind=Task.Kind.RANKING).exists()


def test_generation_goes_to_the_generation_queue():
    from chatsite.celery import app

    assert app.amqp.router.route({}, "labeling.tasks.candidates_generate_task")["queue"].name == "generation"


@pytest.mark.django_db
def test_a_thumbs_down_chat_answer_is_ranked_against_fresh_samples(tiny_model_dir, make_user, settings):
    """What users disliked in chat is what a reward model must score low:
    the disliked answer joins its prompt's ranking task beside samples."""
    from chat import services as chat_services
    from chat.models import Conversation, Message, MessageStatus

    settings.GENERATION_ENGINE = "generate"
    user = make_user(username="sharer", shares_chat_data=True)
    conversation = Conversation.objects.create(owner=user)
    question = Message.objects.create(
        conversation=conversation, role="user", content="How do tides work?", status=MessageStatus.ACCEPTED
    )
    answer = Message.objects.create(
        conversation=conversation,
        parent=question,
        role="assistant",
        content="Nobody knows.",
        status=MessageStatus.COMPLETE,
    )
    feedback = chat_services.feedback_submit(
        user=user, message=answer, rating=-1, reasons=["Not factually correct"], comment=""
    )
    feedback.refresh_from_db()
    disliked = Candidate.objects.get(source_feedback=feedback)
    version = ModelVersion.objects.create(name="tiny", kind="policy", source="imported", path=str(tiny_model_dir))
    (requested,) = candidate_generations_request(
        prompts=[disliked.prompt], model_versions=[version], k=3, required_annotations=1, max_new_tokens=8
    )

    candidates_generate(generation_id=requested.pk)

    requested.refresh_from_db()
    assert requested.state == "done", requested.error
    candidates = [link.candidate for link in requested.task.task_candidates.select_related("candidate")]
    assert disliked in candidates
    assert sum(c.model_version == version for c in candidates) == 2


@pytest.mark.django_db
def test_a_generation_whose_worker_died_fails_when_the_pool_page_is_seen(tiny_model_dir, client, make_user):
    from datetime import timedelta

    from django.utils import timezone

    version = ModelVersion.objects.create(name="tiny", kind="policy", source="imported", path=str(tiny_model_dir))
    prompt = Prompt.objects.create(
        messages=CONVERSATION, source=Prompt.Source.IMPORT, content_hash=messages_hash(CONVERSATION)
    )
    stuck, fresh = candidate_generations_request(
        prompts=[
            prompt,
            Prompt.objects.create(
                messages=CONVERSATION[:1], source=Prompt.Source.IMPORT, content_hash=messages_hash(CONVERSATION[:1])
            ),
        ],
        model_versions=[version],
        k=3,
        required_annotations=1,
        max_new_tokens=8,
    )
    CandidateGeneration.objects.filter(pk=stuck.pk).update(
        state="running", started_at=timezone.now() - timedelta(hours=1)
    )
    CandidateGeneration.objects.filter(pk=fresh.pk).update(state="running", started_at=timezone.now())
    client.force_login(make_user(username="root", role="admin"))

    assert client.get("/labeling/admin/prompts/").status_code == 200

    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert stuck.state == "failed" and "worker stopped" in stuck.error and stuck.finished_at
    assert fresh.state == "running"


@pytest.mark.django_db
def test_a_version_whose_files_this_worker_lacks_fails_the_generation_clearly(tmp_path):
    version = ModelVersion.objects.create(
        name="tiny-elsewhere", kind="policy", source="trained", path=str(tmp_path / "not-here")
    )
    prompt = Prompt.objects.create(
        messages=CONVERSATION, source=Prompt.Source.IMPORT, content_hash=messages_hash(CONVERSATION)
    )
    (requested,) = candidate_generations_request(
        prompts=[prompt], model_versions=[version], k=2, required_annotations=1, max_new_tokens=4
    )
    candidates_generate(generation_id=requested.pk)
    requested.refresh_from_db()
    assert requested.state == "failed"
    assert (
        requested.error
        == "The model version tiny-elsewhere is not available on this worker: its files are missing here."
    )
