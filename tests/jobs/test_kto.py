"""KTO as a job kind: it trains from a snapshot of judged chat answers
(the thumbs up and down of users who share their chats) or of rankings
(their best and worst answers), exported in TRL's unpaired format, and
registers a policy version. The form refuses any other snapshot kind; the
real recipe (training.kto) runs end to end."""

import json
from pathlib import Path

import pytest
from django.test import Client

from jobs.models import TrainingJob
from labeling.datasets import snapshot_create
from labeling.models import DatasetSnapshot

from ..helpers.chat_feedback import rated_answer
from ..helpers.polling import eventually

JUDGED = [
    ("What is the capital of France?", "Paris.", True),
    ("What is the capital of France, again?", "I do not know, go away.", False),
    ("How many legs has a spider?", "Eight.", True),
    ("How many legs has a spider, again?", "Spiders are boring.", False),
    ("Say hello.", "Hello!", True),
    ("Say hello, again.", "No.", False),
]


@pytest.fixture
def feedback_snapshot(make_user):
    def make(name: str = "judged") -> DatasetSnapshot:
        sharer = make_user(username=f"sharer-{name}", shares_chat_data=True)
        for question, answer, up in JUDGED:
            rated_answer(sharer, question, answer, up=up)
        return snapshot_create(name=name, kind=DatasetSnapshot.Kind.FEEDBACK)

    return make


def new_job(client, **fields):
    return client.post(
        "/jobs/new/", {"kind": "kto", "preset": "cpu-quick", "hyperparameters": "", **fields}, follow=False
    )


@pytest.mark.django_db
def test_the_form_takes_kto_with_judged_answers_or_rankings_and_refuses_demonstrations(
    fake_recipes, admin_user, base_version, feedback_snapshot, preference_snapshot, sft_snapshot
):
    client = Client()
    client.force_login(admin_user)
    page = client.get("/jobs/new/").content.decode()
    assert '<option value="kto">KTO</option>' in page
    inputs = json.loads(page.split('id="job-inputs" type="application/json">')[1].split("</script>")[0])
    assert inputs["kto"] == ["base_version", "snapshot"]

    refused = new_job(client, base_version=base_version.pk, snapshot=sft_snapshot(["An answer."]).pk)
    assert refused.status_code == 400
    [error] = refused.context["form"].errors["snapshot"]
    assert "kto needs Judged chat answers (KTO) or Preferences" in error and not TrainingJob.objects.exists()

    for snapshot in (feedback_snapshot(), preference_snapshot()):
        made = new_job(client, base_version=base_version.pk, snapshot=snapshot.pk)
        job = TrainingJob.objects.latest("pk")
        assert made.status_code == 302 and job.kind == "kto" and job.snapshot == snapshot
        assert job.recipe == "tests.jobs.fake_training.kto" and job.state == "queued"


@pytest.mark.django_db
def test_the_real_recipe_packages_kto_presets_fill_the_form(settings, admin_user):
    settings.TRAINING_RECIPE_PACKAGE = "training"
    client = Client()
    client.force_login(admin_user)
    page = client.get("/jobs/new/").content.decode()
    presets = json.loads(page.split('id="job-presets" type="application/json">')[1].split("</script>")[0])
    assert set(presets["kto"]) >= {"cpu-quick", "single-gpu"} and presets["kto"]["cpu-quick"]["beta"] == 0.1


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_a_kto_job_trains_the_real_recipe_on_chat_feedback_and_registers_a_policy(
    celery_worker, app_env, settings, admin_user, base_version, feedback_snapshot
):
    settings.DATA_DIR = Path(app_env["DATA_DIR"])
    settings.TRAINING_RECIPE_PACKAGE = "training"
    snapshot = feedback_snapshot()
    client = Client()
    client.force_login(admin_user)
    response = new_job(
        client,
        base_version=base_version.pk,
        snapshot=snapshot.pk,
        hyperparameters=json.dumps({"max_steps": 2, "batch_size": 2, "max_length": 64}),
    )
    assert response.status_code == 302, response.context["form"].errors
    job = TrainingJob.objects.get()
    assert job.recipe == "training.kto"

    def done():
        job.refresh_from_db()
        return job.state in ("succeeded", "failed", "cancelled")

    eventually(done, timeout=240, interval=0.5, what="the KTO job")
    assert job.state == "succeeded", f"{job.error}\n{job.log_tail[-3000:]}"
    assert job.step == 2 and job.total_steps == 2 and job.metrics.filter(values__has_key="loss").exists()
    trained_on = [json.loads(line) for line in (Path(job.directory) / "train.jsonl").read_text().splitlines()]
    assert sorted(row["label"] for row in trained_on) == [False, False, False, True, True, True]
    assert {"prompt", "completion", "label"} == set(trained_on[0])
    version = job.output_version
    assert version.kind == "policy" and not version.is_serving
    assert version.metadata["lineage"]["snapshot"]["content_hash"] == snapshot.content_hash

    from transformers import AutoModelForCausalLM

    assert AutoModelForCausalLM.from_pretrained(version.path).config.vocab_size > 0
