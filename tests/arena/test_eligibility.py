"""Which versions play in the arena: an admin's decision per version, taken
only after a smoke generation (the version loads, has a chat template and
writes a few tokens), never every trained policy (issue 15, item 9)."""

import json
import shutil

import pytest

from arena import selectors, services
from arena.errors import ArenaError
from chat.models import Conversation
from registry.models import ModelVersion
from registry.services import model_version_register

pytestmark = pytest.mark.django_db


@pytest.fixture
def tasks_sent(monkeypatch):
    """The arena check's task is recorded instead of sent."""
    sent = []
    from arena import tasks

    monkeypatch.setattr(tasks.arena_version_check_task, "delay", lambda pk: sent.append(pk))
    return sent


@pytest.fixture
def serving(tiny_model_dir):
    return ModelVersion.objects.create(name="served", source="bundled", path=str(tiny_model_dir), is_serving=True)


@pytest.fixture
def trained(serving, tiny_model_dir):
    return model_version_register(name="served-pretrain-j1", kind="policy", path=str(tiny_model_dir), base=serving)


@pytest.fixture
def no_template_dir(tiny_model_dir, tmp_path):
    """A from-scratch pretrain's output: weights and a tokenizer, no chat template."""
    out = tmp_path / "no-template"
    shutil.copytree(tiny_model_dir, out)
    config = out / "tokenizer_config.json"
    data = json.loads(config.read_text())
    data.pop("chat_template", None)
    config.write_text(json.dumps(data))
    (out / "chat_template.jinja").unlink(missing_ok=True)
    (out / "chat_template.json").unlink(missing_ok=True)
    return out


def test_a_freshly_trained_version_is_not_drawn_in_arena_rounds(trained, serving, make_user, captured_tasks):
    assert selectors.arena_versions() == [serving]
    player = make_user(username="player", arena_enabled=True)
    with pytest.raises(ArenaError) as error:
        services.match_start(user=player, conversation=Conversation.objects.create(owner=player), content="hi")
    assert error.value.code == "not_enough_versions"


def test_an_admin_enabling_a_version_runs_the_check_first(
    client, make_user, trained, serving, tasks_sent, django_capture_on_commit_callbacks
):
    from arena.eligibility import arena_version_check

    client.force_login(make_user(username="boss", role="admin"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/arena/versions/{trained.pk}/", {"enable": "1"})
    assert response.status_code == 302 and response["Location"] == "/models/"
    trained.refresh_from_db()
    assert tasks_sent == [trained.pk] and not trained.arena_enabled and trained.arena_check == "checking"
    assert selectors.arena_versions() == [serving]

    arena_version_check(version_id=trained.pk)  # what the generation worker runs
    trained.refresh_from_db()
    assert trained.arena_enabled and trained.arena_check == "passed"
    assert set(selectors.arena_versions()) == {serving, trained}
    page = client.get("/models/").content.decode()
    assert 'data-testid="arena-enabled"' in page

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/arena/versions/{trained.pk}/", {"enable": "0"})
    trained.refresh_from_db()
    assert not trained.arena_enabled and selectors.arena_versions() == [serving]


def test_a_version_without_a_chat_template_fails_the_check_and_stays_out(serving, no_template_dir, tasks_sent):
    from arena.eligibility import arena_version_check, arena_version_enable

    broken = model_version_register(name="scratch-pretrain-j2", kind="policy", path=str(no_template_dir), base=None)
    arena_version_enable(version=broken)
    arena_version_check(version_id=broken.pk)
    broken.refresh_from_db()
    assert not broken.arena_enabled and broken.arena_check == "failed"
    assert "chat template" in broken.arena_check_error
    assert selectors.arena_versions() == [serving]


def test_a_version_whose_files_are_missing_fails_the_check(serving, tasks_sent):
    from arena.eligibility import arena_version_check, arena_version_enable

    gone = model_version_register(name="gone-j3", kind="policy", path="/nonexistent/gone", base=None)
    arena_version_enable(version=gone)
    arena_version_check(version_id=gone.pk)
    gone.refresh_from_db()
    assert not gone.arena_enabled and gone.arena_check == "failed" and "missing" in gone.arena_check_error


def test_only_admins_decide_and_only_for_policies(client, make_user, trained, tasks_sent):
    from django.contrib.auth.models import Permission

    trainer = make_user(username="trainer")
    trainer.user_permissions.add(Permission.objects.get(codename="add_trainingjob"))
    client.force_login(trainer)
    assert client.post(f"/arena/versions/{trained.pk}/", {"enable": "1"}).status_code == 403
    assert 'data-testid="arena-enable"' not in client.get("/models/").content.decode()
    trained.refresh_from_db()
    assert not trained.arena_enabled and trained.arena_check == "" and tasks_sent == []

    reward = ModelVersion.objects.create(name="rm", kind="reward", source="trained", path="/m/rm")
    client.force_login(make_user(username="boss", role="admin"))
    client.post(f"/arena/versions/{reward.pk}/", {"enable": "1"})
    reward.refresh_from_db()
    assert reward.arena_check == "" and tasks_sent == []
