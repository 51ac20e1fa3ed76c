"""Fixtures for the jobs tests: the stand-in recipes, data directories the
worker shares, datasets and model versions to train from."""

import json
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission

from labeling.datasets import snapshot_create
from labeling.imports import prompts_import
from labeling.models import DatasetSnapshot, Demonstration, Prompt, PromptImport
from labeling.text import messages_hash
from registry.models import ModelVersion

FAKE_RECIPES = "tests.jobs.fake_training"


@pytest.fixture
def fake_recipes(settings, app_env):
    """Jobs created in this test run the stand-in recipes, and snapshots are
    written where the worker process reads them."""
    settings.TRAINING_RECIPE_PACKAGE = FAKE_RECIPES
    settings.DATA_DIR = Path(app_env["DATA_DIR"])
    return settings


@pytest.fixture
def sft_snapshot():
    """sft_snapshot(["answer", ...], name=...) -> an SFT snapshot of one
    demonstration per answer."""
    counter = iter(range(100_000))

    def make(answers: list[str], name: str = "demos") -> DatasetSnapshot:
        for answer in answers:
            messages = [{"role": "user", "content": f"Question {next(counter)} for {name}?"}]
            prompt = Prompt.objects.create(
                messages=messages, source=Prompt.Source.IMPORT, content_hash=messages_hash(messages)
            )
            Demonstration.objects.create(prompt=prompt, content=answer, moderation=Demonstration.Moderation.PASSED)
        return snapshot_create(name=name, kind=DatasetSnapshot.Kind.SFT)

    return make


@pytest.fixture
def preference_snapshot():
    def make(name: str = "prefs", pairs: int = 3) -> DatasetSnapshot:
        lines = [
            json.dumps(
                {
                    "chosen": f"\n\nHuman: Question {i} of {name}?\n\nAssistant: A kind and helpful answer {i}.",
                    "rejected": f"\n\nHuman: Question {i} of {name}?\n\nAssistant: Go away {i}.",
                }
            )
            for i in range(pairs)
        ]
        record = prompts_import(lines=lines, fmt=PromptImport.Format.HH, file_name=f"{name}.jsonl")
        return snapshot_create(name=name, kind=DatasetSnapshot.Kind.PREFERENCE, filters={"import_id": record.pk})

    return make


@pytest.fixture
def base_version(tiny_model_dir):
    return ModelVersion.objects.create(name="tiny-base", source="imported", path=str(tiny_model_dir))


@pytest.fixture
def admin_user(make_user):
    return make_user(username="boss", role="admin")


@pytest.fixture
def trainer(make_user):
    """A plain user given the right to train."""
    user = make_user(username="trainer")
    user.user_permissions.add(Permission.objects.get(codename="add_trainingjob", content_type__app_label="jobs"))
    return user
