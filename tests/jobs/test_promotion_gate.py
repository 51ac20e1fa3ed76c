"""The promotion gate: a policy serves on the strength of an evaluation
against the serving one, or on an admin's stated reason, kept in the
promotion log."""

import pytest
from django.test import Client
from django.utils import timezone

from core.errors import UserError
from jobs.models import PromotionRecord, TrainingJob
from jobs.promotion import promotion_check, version_promote
from registry.models import ModelVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def versions(make_user):
    serving = ModelVersion.objects.create(name="smol", source="bundled", path="/m/smol", is_serving=True)
    candidate = ModelVersion.objects.create(name="smol-ppo", source="trained", path="/m/ppo", base=serving)
    return make_user(username="boss", role="admin"), serving, candidate


def evaluation(candidate, baseline, state="succeeded", **results):
    return TrainingJob.objects.create(
        kind="evaluate",
        preset="cpu-quick",
        recipe="training.evaluate",
        state=state,
        base_version=candidate,
        baseline_version=baseline,
        results=results,
        finished_at=timezone.now(),
    )


def test_without_an_evaluation_promotion_needs_a_reason_and_is_logged(versions):
    admin, serving, candidate = versions
    check = promotion_check(version=candidate)
    assert not check.passed and check.reason == "No evaluation of smol-ppo against the serving smol."
    with pytest.raises(UserError, match="Give a reason"):
        version_promote(version=candidate, promoted_by=admin)
    assert ModelVersion.objects.get(is_serving=True) == serving and not PromotionRecord.objects.exists()
    record = version_promote(version=candidate, promoted_by=admin, override_reason="  Urgent fix.  ")
    assert ModelVersion.objects.get(is_serving=True) == candidate
    assert (record.gate_passed, record.override_reason, record.previous, record.promoted_by) == (
        False,
        "Urgent fix.",
        serving,
        admin,
    )


@pytest.mark.parametrize(
    ("state", "results", "passed", "reason"),
    [
        ("succeeded", {"win_rate": 0.62}, True, "won 62% of the prompts"),
        ("succeeded", {"win_rate": 0.5}, False, "not more than half"),
        ("failed", {}, False, "failed"),
        (
            "succeeded",
            {"win_rate": 0.7, "red_team_flagged_share_candidate": 0.3, "red_team_flagged_share_baseline": 0.1},
            False,
            "flagged 30% of its red-team answers",
        ),
    ],
)
def test_the_latest_evaluation_decides(versions, state, results, passed, reason):
    admin, serving, candidate = versions
    evaluation(candidate, serving, win_rate=0.1)  # an older one is not read
    latest = evaluation(candidate, serving, state=state, **results)
    check = promotion_check(version=candidate)
    assert (check.passed, check.evaluation) == (passed, latest) and reason in check.reason
    if passed:
        record = version_promote(version=candidate, promoted_by=admin)
        assert record.gate_passed and record.evaluation == latest and record.override_reason == ""


def test_an_evaluation_against_another_baseline_does_not_count(versions):
    admin, serving, candidate = versions
    other = ModelVersion.objects.create(name="older", source="trained", path="/m/older")
    evaluation(candidate, other, win_rate=0.9)
    assert not promotion_check(version=candidate).passed


def test_the_pages_show_the_gate_and_ask_for_the_reason(versions):
    admin, serving, candidate = versions
    evaluation(candidate, serving, win_rate=0.4, win_rate_low=0.3, win_rate_high=0.5, prompts=40)
    client = Client()
    client.force_login(admin)
    listing = client.get("/models/").content.decode()
    assert "won 40% of the prompts" in listing and "not passed" in listing
    page = client.get(f"/models/{candidate.pk}/lineage/").content.decode()
    assert 'data-testid="evaluation"' in page and "0.400" in page and "gate not passed" in page
    asked = client.post(f"/models/{candidate.pk}/promote/")
    assert asked.status_code == 409 and 'name="override_reason"' in asked.content.decode()
    assert (
        client.post(f"/models/{candidate.pk}/promote/", {"override_reason": "We read the answers."}).status_code == 302
    )
    page = client.get(f"/models/{candidate.pk}/lineage/").content.decode()
    assert "gate overridden" in page and "We read the answers." in page
