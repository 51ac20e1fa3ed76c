"""The new-job form for an evaluation: what it needs, and no judge the
candidate was trained against."""

import pytest

from evaluation.services import evaluation_set_create
from jobs.forms import TrainingJobForm, fields_by_kind
from jobs.models import TrainingJob
from registry.models import ModelVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    serving = ModelVersion.objects.create(name="smol", source="bundled", path="/m/smol", is_serving=True)
    reward = ModelVersion.objects.create(name="rm", kind="reward", source="trained", path="/m/rm")
    other_judge = ModelVersion.objects.create(name="rm-other", kind="reward", source="trained", path="/m/rm2")
    ppo_job = TrainingJob.objects.create(
        kind="ppo",
        preset="cpu-quick",
        recipe="training.ppo",
        state="succeeded",
        base_version=serving,
        reward_version=reward,
    )
    ppo = ModelVersion.objects.create(name="smol-ppo", source="trained", path="/m/ppo", base=serving, job=ppo_job)
    # A version trained from the PPO one still carries its reward model in its lineage.
    child = ModelVersion.objects.create(name="smol-ppo-sft", source="trained", path="/m/child", base=ppo)
    held = evaluation_set_create(
        name="held", purpose="general", source="import", prompts=[[{"role": "user", "content": "Hi"}]], created_by=None
    )
    return serving, reward, other_judge, child, held


def form(**fields):
    data = {"kind": "evaluate", "preset": "cpu-quick", "hyperparameters": "{}", **fields}
    return TrainingJobForm(data)


def test_the_form_shows_the_evaluation_inputs():
    assert fields_by_kind()["evaluate"] == [
        "base_version",
        "corpus",
        "corpus_upload",
        "baseline_version",
        "judge_versions",
        "evaluation_set",
        "red_team_set",
    ]


def test_a_judge_the_candidate_was_trained_against_is_refused(setup):
    serving, reward, other_judge, child, held = setup
    refused = form(base_version=child.pk, judge_versions=[reward.pk], evaluation_set=held.pk)
    assert not refused.is_valid()
    assert refused.errors["judge_versions"] == ["smol-ppo-sft was trained against rm: choose judges it never saw."]
    accepted = form(base_version=child.pk, judge_versions=[other_judge.pk], evaluation_set=held.pk)
    assert accepted.is_valid(), accepted.errors
    assert accepted.cleaned_data["baseline_version"] == serving


def test_what_an_evaluation_needs(setup):
    serving, reward, other_judge, child, held = setup
    empty = form(base_version=serving.pk)
    assert not empty.is_valid()
    assert "The candidate and the baseline are the same version." in empty.errors["baseline_version"]
    assert empty.errors["judge_versions"] == ["Choose at least one reward model to judge the answers."]
    assert empty.errors["evaluation_set"] == ["Choose the evaluation set the two versions answer."]
