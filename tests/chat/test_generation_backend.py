"""Which backend answers (registry.serving.version_backend): a version whose
files this worker lacks, and the names asked of remote servers."""

import pytest

from chat.models import Conversation, Message, MessageStatus
from chat.worker import answer_generate
from registry.models import ModelVersion
from registry.serving import version_backend

pytestmark = pytest.mark.django_db


def _queued_answer(user, version) -> Message:
    """An answer for `version`, as the arena and trials queue them."""
    conversation = Conversation.objects.create(owner=user)
    question = Message.objects.create(
        conversation=conversation, role="user", content="Tell me about the sea", status=MessageStatus.ACCEPTED
    )
    return Message.objects.create(
        conversation=conversation,
        parent=question,
        role="assistant",
        status=MessageStatus.QUEUED,
        model_version=version,
        sampling={"max_new_tokens": 4},
    )


@pytest.mark.parametrize("layout", ["no directory", "no config"])
def test_a_version_whose_files_this_host_lacks_ends_the_answer_failed_naming_it(layout, user, tmp_path, caplog):
    path = tmp_path / "data" / "models" / "tiny-elsewhere"
    if layout == "no config":
        path.mkdir(parents=True)  # a shared DATA_DIR half copied
    version = ModelVersion.objects.create(name="tiny-elsewhere", kind="policy", source="trained", path=str(path))
    answer = _queued_answer(user, version)
    answer_generate(message_id=answer.pk)
    answer.refresh_from_db()
    assert answer.status == MessageStatus.FAILED
    assert (
        answer.error == "The model version tiny-elsewhere is not available on this worker: its files are missing here."
    )
    assert str(path) in caplog.text and "Traceback" not in caplog.text


def test_with_the_openai_backend_versions_are_asked_for_by_name_from_one_pool(settings):
    settings.GENERATION_BACKEND = "openai"
    settings.OPENAI_BASE_URL = "http://gpu-1.internal:8000/v1, http://gpu-2.internal:8000/v1"
    settings.OPENAI_MODEL = "served"
    serving = ModelVersion.objects.create(name="serving", kind="policy", source="trained", path="/x", is_serving=True)
    trial = ModelVersion.objects.create(name="sft-3", kind="policy", source="trained", path="/nowhere/sft-3")

    for_trial, version = version_backend(trial)
    assert (for_trial.model, for_trial.model_path, version) == ("sft-3", "sft-3", trial)
    assert version_backend(serving)[0].model == "served", "the servers call the serving model OPENAI_MODEL"
    default, version = version_backend()
    assert (default.model, version) == ("served", None)
    assert default.pool is for_trial.pool and len(default.pool.endpoints) == 2
