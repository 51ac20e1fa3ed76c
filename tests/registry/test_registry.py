import os
from pathlib import Path

import pytest

from engine.bundled import BUNDLED_NAME
from registry.models import ModelVersion
from registry.selectors import chat_model_spec
from registry.services import model_version_import_bundled, model_version_promote

pytestmark = pytest.mark.django_db


def test_chat_model_setting_names_a_version_a_directory_or_a_hub_id(settings, tiny_model_dir):
    version = ModelVersion.objects.create(name="tiny-v1", source="imported", path=str(tiny_model_dir))
    settings.CHAT_MODEL = "tiny-v1"
    assert chat_model_spec() == (str(tiny_model_dir), version)
    settings.CHAT_MODEL = "/srv/models/other"
    assert chat_model_spec() == ("/srv/models/other", None)
    settings.CHAT_MODEL = "HuggingFaceTB/SmolLM2-360M-Instruct"
    assert chat_model_spec() == ("HuggingFaceTB/SmolLM2-360M-Instruct", None)


def test_without_setting_the_serving_version_is_used(settings):
    settings.CHAT_MODEL = ""
    with pytest.raises(LookupError, match="bootstrap"):
        chat_model_spec()
    first = ModelVersion.objects.create(name="a", source="trained", path="/a")
    second = ModelVersion.objects.create(name="b", source="trained", path="/b")
    model_version_promote(version=first)
    assert chat_model_spec() == ("/a", first)
    model_version_promote(version=second)
    assert chat_model_spec() == ("/b", second)
    assert list(ModelVersion.objects.filter(is_serving=True)) == [second]


def test_only_policies_serve():
    reward = ModelVersion.objects.create(name="rm", kind="reward", source="trained", path="/rm")
    with pytest.raises(ValueError):
        model_version_promote(version=reward)


def test_bundled_import_registers_the_converted_model_once():
    models_dir = Path(os.environ.get("SMOLLM2_DIR", f"var/models/{BUNDLED_NAME}")).parent
    assert (models_dir / BUNDLED_NAME / "config.json").exists(), "`make test` converts the bundled model first"
    version = model_version_import_bundled(models_dir=models_dir)
    assert version.is_serving and version.source == "bundled" and version.kind == "policy"
    assert model_version_import_bundled(models_dir=models_dir) == version
    assert ModelVersion.objects.count() == 1
