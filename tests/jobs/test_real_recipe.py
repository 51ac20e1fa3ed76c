"""One job end to end with the real SFT recipe (training.sft, TRL) on the
tiny model for a few steps: the contract between jobs/ and training/ holds."""

import hashlib
import importlib.util
import json
from pathlib import Path

import pytest
from django.test import Client

from jobs.models import TrainingJob

from ..helpers.polling import eventually

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.mark.skipif(importlib.util.find_spec("training.sft") is None, reason="training.sft is not written yet")
def test_a_job_runs_the_real_sft_recipe_and_registers_a_loadable_model(
    celery_worker, app_env, settings, admin_user, base_version, sft_snapshot
):
    settings.DATA_DIR = Path(app_env["DATA_DIR"])
    settings.TRAINING_RECIPE_PACKAGE = "training"
    snapshot = sft_snapshot(["Paris is the capital of France.", "Water boils at 100 degrees.", "Hello to you too."])
    client = Client()
    client.force_login(admin_user)
    response = client.post(
        "/jobs/new/",
        {
            "kind": "sft",
            "preset": "cpu-quick",
            "base_version": base_version.pk,
            "snapshot": snapshot.pk,
            "hyperparameters": json.dumps({"max_steps": 3, "batch_size": 1, "max_length": 64}),
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    job = TrainingJob.objects.get()
    assert job.recipe == "training.sft"

    def done():
        job.refresh_from_db()
        return job.state in ("succeeded", "failed", "cancelled")

    eventually(done, timeout=240, interval=0.5, what="the SFT job")
    assert job.state == "succeeded", f"{job.error}\n{job.log_tail[-3000:]}"
    assert job.step == 3 and job.total_steps == 3 and job.metrics.filter(values__has_key="loss").exists()
    version = job.output_version
    assert version.kind == "policy" and not version.is_serving
    assert version.metadata["lineage"]["snapshot"]["content_hash"] == snapshot.content_hash

    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(version.path)
    assert model.config.vocab_size > 0


@pytest.mark.skipif(
    importlib.util.find_spec("training.reward") is None or importlib.util.find_spec("training.ppo") is None,
    reason="training.reward or training.ppo is not written yet",
)
def test_real_reward_then_ppo_jobs_hand_their_models_on(
    celery_worker, app_env, settings, admin_user, base_version, sft_snapshot, preference_snapshot
):
    """The reward job's registered version is the PPO job's reward model:
    the preference export and PPO's prompts are what the recipes read."""
    settings.DATA_DIR = Path(app_env["DATA_DIR"])
    settings.TRAINING_RECIPE_PACKAGE = "training"
    client = Client()
    client.force_login(admin_user)

    def run(**fields) -> TrainingJob:
        fields["hyperparameters"] = json.dumps(fields["hyperparameters"])
        response = client.post("/jobs/new/", {"preset": "cpu-quick", "base_version": base_version.pk, **fields})
        assert response.status_code == 302, response.context["form"].errors
        job = TrainingJob.objects.order_by("-pk").first()

        def done():
            job.refresh_from_db()
            return job.state in ("succeeded", "failed", "cancelled")

        eventually(done, timeout=240, interval=0.5, what=f"the {job.kind} job")
        assert job.state == "succeeded", f"{job.error}\n{job.log_tail[-3000:]}"
        return job

    prefs = preference_snapshot(name="real-prefs", pairs=6)
    reward = run(
        kind="reward",
        snapshot=prefs.pk,
        hyperparameters={
            "lora": False,
            "freeze_layers": 0,
            "max_length": 64,
            "groups_per_step": 2,
            "eval_fraction": 0.34,
        },
    )
    assert reward.output_version.kind == "reward"
    assert any("eval_accuracy" in m.values for m in reward.metrics.all()), "held-out accuracy is reported"
    demos = sft_snapshot(["One.", "Two."], name="real-ppo-prompts")
    ppo = run(
        kind="ppo",
        snapshot=demos.pk,
        reward_version=reward.output_version.pk,
        hyperparameters={
            "lora": False,
            "max_steps": 2,
            "rollout_batch_size": 2,
            "minibatch_size": 2,
            "ppo_epochs": 1,
            "max_new_tokens": 8,
            "eval_prompts": 1,
        },
    )
    points = [m.values for m in ppo.metrics.all()]
    assert ppo.total_steps == 2 and any("reward" in p and "kl" in p for p in points)
    assert ppo.output_version.metadata["lineage"]["reward_version"]["id"] == reward.output_version.pk
    page = client.get(f"/jobs/{ppo.pk}/")
    assert page.context["samples"] and {"step", "prompt", "response", "reward"} <= set(page.context["samples"][0])
    assert 'data-testid="samples"' in page.content.decode()


@pytest.mark.skipif(
    importlib.util.find_spec("training.pretrain") is None or importlib.util.find_spec("training.dpo") is None,
    reason="training.pretrain or training.dpo is not written yet",
)
def test_real_pretrain_from_an_uploaded_corpus_and_dpo_jobs(
    celery_worker, app_env, settings, admin_user, base_version, preference_snapshot
):
    """Pre-training from scratch on an upload (no base version: the chain
    starts at the job) and DPO on a preference export."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.DATA_DIR = Path(app_env["DATA_DIR"])
    settings.TRAINING_RECIPE_PACKAGE = "training"
    client = Client()
    client.force_login(admin_user)

    def run(fields: dict) -> TrainingJob:
        response = client.post("/jobs/new/", {"preset": "cpu-quick", **fields})
        assert response.status_code == 302, response.context["form"].errors
        job = TrainingJob.objects.order_by("-pk").first()

        def done():
            job.refresh_from_db()
            return job.state in ("succeeded", "failed", "cancelled")

        eventually(done, timeout=240, interval=0.5, what=f"the {job.kind} job")
        assert job.state == "succeeded", f"{job.error}\n{job.log_tail[-3000:]}"
        return job

    text = "".join(f"Line {i}: the quick brown fox jumps over the lazy dog.\n" for i in range(400)).encode()
    pretrain = run(
        {
            "kind": "pretrain",
            "corpus_upload": SimpleUploadedFile("fox.txt", text),
            "hyperparameters": json.dumps(
                {
                    "max_steps": 3,
                    "time_budget_s": None,
                    "vocab_size": 300,
                    "n_layer": 1,
                    "d_model": 32,
                    "d_ff": 64,
                    "seq_len": 32,
                    "batch_size": 4,
                    "eval_every": 3,
                    "eval_tokens": 256,
                    "log_every": 1,
                }
            ),
        }
    )
    version = pretrain.output_version
    assert version.base is None and version.name == f"scratch-pretrain-j{pretrain.pk}"
    assert version.metadata["lineage"]["corpus"]["sha256"] == hashlib.sha256(text).hexdigest()
    assert any("eval_bits_per_byte" in m.values for m in pretrain.metrics.all())

    prefs = preference_snapshot(name="dpo-prefs", pairs=4)
    dpo = run(
        {
            "kind": "dpo",
            "base_version": base_version.pk,
            "snapshot": prefs.pk,
            "hyperparameters": json.dumps({"lora": False, "max_steps": 2, "batch_size": 2, "max_length": 64}),
        }
    )
    assert dpo.output_version.kind == "policy" and dpo.step == 2


@pytest.mark.skipif(
    importlib.util.find_spec("training.checkpoint") is None,
    reason="the recipes' resumable checkpoints (training.checkpoint) are not written yet",
)
def test_a_real_pretrain_cancelled_then_resumed_goes_on_from_its_checkpoint(
    celery_worker, app_env, settings, admin_user
):
    """The checkpoint contract with training/: output_dir/checkpoint/ is
    written when the recipe is stopped, the resumed run (same directory)
    goes on from it, and its summary says from which step. A time budget,
    kept in the checkpoint, ends the resumed run however fast steps are."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.DATA_DIR = Path(app_env["DATA_DIR"])
    settings.TRAINING_RECIPE_PACKAGE = "training"
    client = Client()
    client.force_login(admin_user)
    text = "".join(f"Line {i}: the quick brown fox jumps over the lazy dog.\n" for i in range(400)).encode()
    response = client.post(
        "/jobs/new/",
        {
            "kind": "pretrain",
            "preset": "cpu-quick",
            "corpus_upload": SimpleUploadedFile("fox.txt", text),
            "hyperparameters": json.dumps(
                {
                    "max_steps": 1_000_000,
                    "time_budget_s": 12,
                    "vocab_size": 300,
                    "n_layer": 1,
                    "d_model": 32,
                    "d_ff": 64,
                    "seq_len": 32,
                    "batch_size": 4,
                    "eval_every": 1_000_000,
                    "eval_tokens": 256,
                    "log_every": 1,
                    "checkpoint_every": 0,
                }
            ),
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    job = TrainingJob.objects.get()

    def ended():
        job.refresh_from_db()
        return job.state in ("succeeded", "failed", "cancelled")

    eventually(lambda: TrainingJob.objects.get(pk=job.pk).step >= 3, timeout=120, what="three steps")
    client.post(f"/jobs/{job.pk}/cancel/")
    eventually(ended, timeout=60, what="the cancelled pretrain")
    assert job.state == "cancelled", f"{job.error}\n{job.log_tail[-3000:]}"
    output = Path(job.directory) / "output"
    stopped_at = json.loads((output / "summary.json").read_text())["steps"]
    assert stopped_at >= 3 and (output / "checkpoint").is_dir()

    assert client.post(f"/jobs/{job.pk}/resume/").status_code == 302
    eventually(ended, timeout=180, what="the resumed pretrain")
    assert job.state == "succeeded", f"{job.error}\n{job.log_tail[-3000:]}"
    assert job.resumed_from_step == stopped_at and job.step > stopped_at
    steps = [m.step for m in job.metrics.order_by("id")]
    assert steps == sorted(steps) and set(steps) == set(range(1, job.step + 1)), "one run's worth of points, in order"
    assert f"resumed from step {stopped_at}" in client.get(f"/jobs/{job.pk}/").content.decode()
    assert job.output_version.metadata["lineage"]["resumed_from_step"] == stopped_at


@pytest.fixture
def judge_version(tiny_model_dir, tmp_path):
    """A reward model version (a random score head on the tiny model)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from registry.models import ModelVersion

    out = tmp_path / "judge"
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=1)
    torch.nn.init.normal_(model.score.weight, std=0.5)
    model.config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return ModelVersion.objects.create(name="tiny-judge", kind="reward", source="imported", path=str(out))


def test_a_real_evaluation_job_records_its_figures_and_the_gate_reads_them(
    celery_worker, app_env, settings, admin_user, base_version, judge_version, tmp_path
):
    """The evaluation recipe against a baseline, judged by a reward model,
    with a red-team set: the figures land on the job and the version page,
    and output moderation judged the red-team answers in the app."""
    from engine.tiny import build_tiny_chat_model
    from evaluation.services import evaluation_set_create
    from registry.models import ModelVersion
    from registry.services import model_version_promote

    settings.DATA_DIR = Path(app_env["DATA_DIR"])
    settings.TRAINING_RECIPE_PACKAGE = "training"
    baseline_dir = build_tiny_chat_model(Path(app_env["DATA_DIR"]) / "baseline-model", seed=3)
    baseline = ModelVersion.objects.create(name="tiny-baseline", source="imported", path=str(baseline_dir))
    model_version_promote(version=baseline)
    user_turn = lambda text: [{"role": "user", "content": text}]  # noqa: E731
    held_out = evaluation_set_create(
        name="held",
        purpose="general",
        source="import",
        prompts=[user_turn(f"Tell me about {w}.") for w in "abcde"],
        created_by=admin_user,
    )
    red = evaluation_set_create(
        name="red", purpose="red_team", source="import", prompts=[user_turn("Insult me.")], created_by=admin_user
    )
    client = Client()
    client.force_login(admin_user)
    response = client.post(
        "/jobs/new/",
        {
            "kind": "evaluate",
            "preset": "cpu-quick",
            "base_version": base_version.pk,
            "judge_versions": [judge_version.pk],
            "evaluation_set": held_out.pk,
            "red_team_set": red.pk,
            "hyperparameters": json.dumps({"max_new_tokens": 6, "batch_size": 4, "bootstrap_samples": 100}),
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    job = TrainingJob.objects.get()
    assert job.baseline_version == baseline, "the baseline defaults to the serving version"

    def done():
        job.refresh_from_db()
        return job.state in ("succeeded", "failed", "cancelled")

    eventually(done, timeout=240, interval=0.5, what="the evaluation job")
    assert job.state == "succeeded", f"{job.error}\n{job.log_tail[-3000:]}"
    results = job.results
    assert results["prompts"] == 5 and 0 <= results["win_rate_low"] <= results["win_rate"] <= results["win_rate_high"]
    assert 0 < results["mean_length_candidate"] <= 6 and 0 <= results["no_eos_share_candidate"] <= 1
    assert results["red_team_prompts"] == 1 and 0 <= results["red_team_flagged_share_candidate"] <= 1
    assert job.input_hash == held_out.content_hash and not hasattr(job, "output_version")
    page = client.get(f"/models/{base_version.pk}/lineage/").content.decode()
    assert 'data-testid="evaluation"' in page and f"#{job.pk}" in page
    from jobs.promotion import promotion_check

    assert promotion_check(version=base_version).evaluation == job
