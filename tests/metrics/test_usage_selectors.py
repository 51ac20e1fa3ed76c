"""The usage page's tables: tokens per day and per user, compute along a
model version's lineage."""

import pytest

from jobs.models import TrainingJob
from metrics.usage_selectors import compute_by_version, usage_by_day, usage_by_user
from registry.models import ModelVersion
from usage.services import usage_record

pytestmark = pytest.mark.django_db


def test_the_admin_tables(make_user):
    alice, bob = make_user(username="alice"), make_user(username="bob")
    usage_record(user_id=alice.pk, answers=2, prompt_tokens=100, completion_tokens=50)
    usage_record(user_id=bob.pk, answers=1, prompt_tokens=10, completion_tokens=5)
    days = usage_by_day(days=30)
    assert len(days) == 30 and days[-1]["prompt_tokens"] == 110 and days[0]["prompt_tokens"] == 0
    assert [(row["user"].username, row["tokens"], row["today"]) for row in usage_by_user(days=30)] == [
        ("alice", 150, 150),
        ("bob", 15, 15),
    ]
    base = ModelVersion.objects.create(name="base", source="imported", path="/x")
    sft_job = TrainingJob.objects.create(kind="sft", preset="cpu-quick", compute_seconds=120.0)
    sft = ModelVersion.objects.create(name="sft", source="trained", path="/y", base=base, job=sft_job)
    ppo_job = TrainingJob.objects.create(kind="ppo", preset="cpu-quick", compute_seconds=300.0)
    ModelVersion.objects.create(name="ppo", source="trained", path="/z", base=sft, job=ppo_job)
    assert [(r["version"].name, r["own"], r["lineage"]) for r in compute_by_version()] == [
        ("ppo", 300.0, 420.0),
        ("sft", 120.0, 120.0),
    ]
