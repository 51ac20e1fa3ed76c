"""The evaluation sets page: trainers make sets from a snapshot or a file."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from evaluation.models import EvaluationSet

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_trainer_uploads_a_set_and_bad_files_lose_nothing(trainer, make_user):
    client = client_for(trainer)
    lines = "\n".join(json.dumps({"prompt": f"Question {i}?"}) for i in range(3)).encode()
    response = client.post(
        "/jobs/evaluation-sets/",
        {"name": "held", "purpose": "general", "upload": SimpleUploadedFile("p.jsonl", lines)},
    )
    assert response.status_code == 302
    made = EvaluationSet.objects.get()
    assert (made.prompt_count, made.created_by) == (3, trainer)
    page = client.get("/jobs/evaluation-sets/").content.decode()
    assert 'data-name="held"' in page and "Evaluate on it" in page

    bad = client.post(
        "/jobs/evaluation-sets/",
        {"name": "bad", "purpose": "general", "upload": SimpleUploadedFile("p.jsonl", b'{"prompt": 3}\n')},
    )
    assert bad.status_code == 400 and "line 1" in bad.content.decode()
    neither = client.post("/jobs/evaluation-sets/", {"name": "x", "purpose": "general"})
    assert neither.status_code == 400 and "Choose a snapshot or upload a file" in neither.content.decode()
    assert EvaluationSet.objects.count() == 1
    assert client_for(make_user(username="plain")).get("/jobs/evaluation-sets/").status_code == 403
