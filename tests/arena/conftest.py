import pytest

from engine.tiny import build_tiny_chat_model
from registry.models import ModelVersion


@pytest.fixture(scope="session")
def second_tiny_model_dir(tmp_path_factory):
    """Another random-init chat model (other weights), for the arena's
    second side."""
    return build_tiny_chat_model(tmp_path_factory.mktemp("tiny-chat-model-b"), never_ends=True, seed=1)


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    """Preference snapshots are written under each test's own directory."""
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR


@pytest.fixture
def versions(db):
    """Two registered chat models (paths unused by tests that run no worker);
    the first serves chat."""
    first = ModelVersion.objects.create(name="policy-one", source="imported", path="/nonexistent/one", is_serving=True)
    second = ModelVersion.objects.create(
        name="policy-two", source="imported", path="/nonexistent/two", arena_enabled=True
    )
    return first, second


@pytest.fixture
def arena_user(make_user):
    return make_user(username="player", arena_enabled=True)


@pytest.fixture
def admin(make_user):
    return make_user(username="boss", role="admin")
