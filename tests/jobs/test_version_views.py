"""The model versions page, promotion (admins only, policies only) and the
lineage page."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from jobs.models import TrainingJob
from registry.models import ModelVersion

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def chain(make_user):
    """bundled -> sft (job on a snapshot) -> reward model trained from it."""
    admin = make_user(username="boss", role="admin")
    bundled = ModelVersion.objects.create(name="smol", source="bundled", path="/m/smol", is_serving=True)
    job = TrainingJob.objects.create(
        kind="sft", preset="cpu-quick", recipe="training.sft", created_by=admin, state="succeeded"
    )
    sft = ModelVersion.objects.create(
        name="smol-sft-j1",
        source="trained",
        path="/m/sft",
        base=bundled,
        job=job,
        metadata={
            "lineage": {
                "job": job.pk,
                "recipe": "training.sft",
                "snapshot": {"name": "demos", "version": 2, "content_hash": "ab" * 32, "item_count": 50},
                "config": {"lr": 0.0002},
                "code_version": "git:1234",
                "metrics": {"loss": 1.25},
            }
        },
    )
    reward = ModelVersion.objects.create(
        name="smol-sft-j1-reward-j2", kind="reward", source="trained", path="/m/rm", base=sft
    )
    return admin, bundled, sft, reward


def test_lineage_runs_from_the_bundled_base_to_the_version(chain):
    admin, bundled, sft, reward = chain
    page = client_for(admin).get(f"/models/{reward.pk}/lineage/")
    assert page.status_code == 200
    assert [v.name for v in page.context["chain"]] == ["smol", "smol-sft-j1", "smol-sft-j1-reward-j2"]
    html = page.content.decode()
    assert "ab" * 32 in html and "git:1234" in html and "demos@2" in html and f"/jobs/{sft.job.pk}/" in html


def test_only_admins_promote_and_only_policies(chain, make_user):
    admin, bundled, sft, reward = chain
    trainer = make_user(username="trainer")
    trainer.user_permissions.add(Permission.objects.get(codename="add_trainingjob"))
    trainer_client = client_for(trainer)
    listing = trainer_client.get("/models/")
    assert listing.status_code == 200 and 'data-testid="promote"' not in listing.content.decode()
    assert trainer_client.post(f"/models/{sft.pk}/promote/").status_code == 403
    assert client_for(make_user(username="plain")).get("/models/").status_code == 403
    admin_client = client_for(admin)
    admin_client.post(f"/models/{reward.pk}/promote/")
    assert ModelVersion.objects.get(is_serving=True) == bundled, "a reward model never serves chat"
    # No evaluation against the serving version: the gate asks for a reason first.
    refused = admin_client.post(f"/models/{sft.pk}/promote/")
    assert refused.status_code == 409 and "No evaluation of smol-sft-j1" in refused.content.decode()
    assert ModelVersion.objects.get(is_serving=True) == bundled
    promoted = admin_client.post(f"/models/{sft.pk}/promote/", {"override_reason": "Hot fix, evaluated by hand."})
    assert promoted.status_code == 302
    assert ModelVersion.objects.get(is_serving=True) == sft
    assert 'data-name="smol-sft-j1" data-serving="true"' in admin_client.get("/models/").content.decode()
