"""Job pages over HTTP: who gets in, what the form refuses, what it queues.
No worker here: jobs created stay queued (on-commit never fires inside a
test's transaction)."""

import json

import pytest
from django.test import Client

from jobs.models import TrainingJob

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def job_of(user, **extra) -> TrainingJob:
    return TrainingJob.objects.create(kind="sft", preset="cpu-quick", recipe="training.sft", created_by=user, **extra)


@pytest.mark.parametrize("role", ["user", "annotator", "moderator"])
def test_people_without_the_right_get_403_everywhere(make_user, role, admin_user):
    person = make_user(username=f"p-{role}", role=role)
    job = job_of(admin_user)
    client = client_for(person)
    for url in ["/jobs/", "/jobs/new/", f"/jobs/{job.pk}/", f"/jobs/{job.pk}/log/", "/models/", "/models/1/lineage/"]:
        assert client.get(url).status_code == 403, url
    assert client.post(f"/jobs/{job.pk}/cancel/").status_code == 403
    assert client.post(f"/jobs/{job.pk}/resume/").status_code == 403
    assert client.post("/jobs/new/", {"kind": "sft", "preset": "cpu-quick"}).status_code == 403
    assert TrainingJob.objects.count() == 1


def test_anonymous_visitors_are_sent_to_log_in():
    response = Client().get("/jobs/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_user_given_the_right_starts_a_job(fake_recipes, trainer, sft_snapshot, base_version):
    snapshot = sft_snapshot(["Hello."])
    client = client_for(trainer)
    page = client.get("/jobs/new/")
    assert page.status_code == 200
    presets = json.loads(
        page.content.decode().split('id="job-presets" type="application/json">')[1].split("</script>")[0]
    )
    assert presets["sft"]["cpu-quick"]["max_steps"] == 6, "the preset from the recipe package prefills the form"
    response = client.post(
        "/jobs/new/",
        {
            "kind": "sft",
            "preset": "cpu-quick",
            "base_version": base_version.pk,
            "snapshot": snapshot.pk,
            "hyperparameters": json.dumps({"max_steps": 3}),
        },
    )
    job = TrainingJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert job.state == "queued" and job.created_by == trainer
    assert job.recipe == "tests.jobs.fake_training.sft"
    assert job.hyperparameters == {"max_steps": 3, "step_seconds": 0.2, "learning_rate": 0.001}, (
        "overrides on the preset"
    )
    assert client.get(f"/jobs/{job.pk}/").status_code == 200
    assert [row.pk for row in client.get("/jobs/").context["jobs"]] == [job.pk]


def test_trainers_see_only_their_own_jobs_and_admins_all(trainer, make_user, admin_user):
    other = make_user(username="other-trainer")
    other.user_permissions.set(trainer.user_permissions.all())
    mine, theirs = job_of(trainer), job_of(other)
    client = client_for(trainer)
    assert client.get(f"/jobs/{theirs.pk}/").status_code == 404
    assert client.post(f"/jobs/{theirs.pk}/cancel/").status_code == 404
    assert [j.pk for j in client.get("/jobs/").context["jobs"]] == [mine.pk]
    admin = client_for(admin_user)
    assert admin.get(f"/jobs/{theirs.pk}/").status_code == 200
    assert {j.pk for j in admin.get("/jobs/").context["jobs"]} == {mine.pk, theirs.pk}


def post_form(client, **fields):
    data = {"kind": "sft", "preset": "cpu-quick", "hyperparameters": ""}
    data.update(fields)
    return client.post("/jobs/new/", data)


def errors(response) -> dict:
    assert response.status_code == 400
    return {name: list(errs) for name, errs in response.context["form"].errors.items()}


def test_the_form_says_what_is_missing_or_wrong(
    fake_recipes, admin_user, base_version, sft_snapshot, preference_snapshot
):
    client = client_for(admin_user)
    demos, prefs = sft_snapshot(["Hi."]), preference_snapshot()
    assert "base_version" in errors(post_form(client, snapshot=demos.pk))
    assert "snapshot" in errors(post_form(client, base_version=base_version.pk))
    wrong_kind = errors(post_form(client, base_version=base_version.pk, snapshot=prefs.pk))
    assert "sft needs Demonstrations" in wrong_kind["snapshot"][0]
    ppo = errors(post_form(client, kind="ppo", base_version=base_version.pk, snapshot=demos.pk))
    assert ppo["reward_version"] == ["PPO needs a reward model version."]
    assert "corpus" in errors(post_form(client, kind="pretrain"))
    ok = {"base_version": base_version.pk, "snapshot": demos.pk}
    assert "not valid JSON" in errors(post_form(client, hyperparameters="{max_steps: 3", **ok))["hyperparameters"][0]
    assert "JSON object" in errors(post_form(client, hyperparameters="[1, 2]", **ok))["hyperparameters"][0]
    reserved = errors(post_form(client, hyperparameters='{"output_dir": "/etc"}', **ok))["hyperparameters"][0]
    assert "'output_dir' is set by the job" in reserved
    nested = errors(post_form(client, hyperparameters='{"lr": {"a": 1}}', **ok))["hyperparameters"][0]
    assert "'lr' must be a number" in nested
    missing_preset = errors(
        post_form(client, kind="reward", preset="multi-gpu", base_version=base_version.pk, snapshot=prefs.pk)
    )
    assert "No Multi-GPU preset for reward" in missing_preset["preset"][0]
    assert TrainingJob.objects.count() == 0


def test_pretraining_takes_an_uploaded_corpus(fake_recipes, admin_user, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.TRAINING_RECIPE_PACKAGE = "training"
    corpus = SimpleUploadedFile("shakespeare.txt", b"To be, or not to be.\n" * 50, content_type="text/plain")
    response = client_for(admin_user).post(
        "/jobs/new/", {"kind": "pretrain", "preset": "cpu-quick", "corpus_upload": corpus}
    )
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    job = TrainingJob.objects.get()
    assert job.corpus_path.startswith("corpora/shakespeare-") and job.base_version is None and job.snapshot is None
    assert (settings.DATA_DIR / job.corpus_path).read_bytes() == b"To be, or not to be.\n" * 50
    assert job.recipe == "training.pretrain" and job.hyperparameters["time_budget_s"] == 300.0


def test_the_command_queues_a_job_with_the_forms_checks(fake_recipes, admin_user, base_version, sft_snapshot):
    from django.core.management import CommandError, call_command

    sft_snapshot(["Hi."], name="cmd-demos")
    with pytest.raises(CommandError, match="snapshot: Supervised fine-tuning needs a dataset snapshot"):
        call_command("start_training_job", "--kind", "sft", "--base", "tiny-base", "--user", "boss")
    call_command(
        "start_training_job",
        "--kind",
        "sft",
        "--base",
        "tiny-base",
        "--snapshot",
        "cmd-demos",
        "--set",
        "max_steps=4",
        "--set",
        "learning_rate=0.5",
        "--user",
        "boss",
    )
    job = TrainingJob.objects.get()
    assert job.snapshot.name == "cmd-demos" and job.hyperparameters == {
        "max_steps": 4,
        "step_seconds": 0.2,
        "learning_rate": 0.5,
    }


def test_the_owner_resumes_a_failed_job_from_its_page_and_a_succeeded_one_stays(trainer, make_user):
    failed = job_of(trainer, state="failed", error="The training worker stopped answering.")
    done = job_of(trainer, state="succeeded")
    client = client_for(trainer)
    page = client.get(f"/jobs/{failed.pk}/").content.decode()
    assert 'data-testid="resume"' in page and 'data-testid="cancel"' not in page
    assert 'data-testid="resume"' not in client.get(f"/jobs/{done.pk}/").content.decode()
    other = make_user(username="other-trainer")
    other.user_permissions.add(*trainer.user_permissions.all())
    assert client_for(other).post(f"/jobs/{failed.pk}/resume/").status_code == 404, "someone else's job"
    response = client.post(f"/jobs/{failed.pk}/resume/", follow=True)
    assert response.redirect_chain == [(f"/jobs/{failed.pk}/", 302)]
    failed.refresh_from_db()
    assert failed.state == "queued" and failed.error == ""
    assert "queued again" in response.content.decode() and 'data-testid="cancel"' in response.content.decode()
    refused = client.post(f"/jobs/{done.pk}/resume/", follow=True).content.decode()
    assert "only a failed or cancelled job can be resumed" in refused
    assert TrainingJob.objects.get(pk=done.pk).state == "succeeded"


def test_a_resumed_job_says_from_which_step(admin_user):
    job = job_of(admin_user, state="running", resumed_from_step=120, step=130, total_steps=200)
    page = client_for(admin_user).get(f"/jobs/{job.pk}/").content.decode()
    assert "resumed from step 120" in page
    assert "resumed from step" not in client_for(admin_user).get(f"/jobs/{job_of(admin_user).pk}/").content.decode()


def test_the_command_resumes_a_cancelled_job_and_refuses_a_succeeded_one(admin_user):
    from django.core.management import CommandError, call_command

    cancelled = job_of(admin_user, state="cancelled", cancel_requested=True)
    call_command("start_training_job", "--resume", str(cancelled.pk))
    cancelled.refresh_from_db()
    assert cancelled.state == "queued" and not cancelled.cancel_requested
    done = job_of(admin_user, state="succeeded")
    with pytest.raises(CommandError, match="only a failed or cancelled job can be resumed"):
        call_command("start_training_job", "--resume", str(done.pk))
    with pytest.raises(CommandError, match="No training job"):
        call_command("start_training_job", "--resume", "999999")


def test_the_form_page_tells_its_script_each_kinds_inputs_from_the_recipe_table(fake_recipes, admin_user):
    page = client_for(admin_user).get("/jobs/new/").content.decode()
    inputs = json.loads(page.split('id="job-inputs" type="application/json">')[1].split("</script>")[0])
    assert inputs["ppo"] == ["base_version", "reward_version", "snapshot"]
    assert inputs["pretrain"] == ["base_version", "corpus", "corpus_upload"]
    assert inputs["sft"] == inputs["dpo"] == inputs["reward"] == ["base_version", "snapshot"]
