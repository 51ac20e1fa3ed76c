"""Registry 0004 makes the classifier's serving flag the registry's column:
the classifier that served by metadata["serving"] (the newest with a JSON
true) serves by `is_serving`, beside the chat model, and the key is gone."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from registry.models import ModelVersion

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("registry", "0003_arena_eligibility")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_the_classifier_that_served_by_its_metadata_serves_by_the_column():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    old = _migrate(BEFORE)
    try:
        OldVersion = old.get_model("registry", "ModelVersion")
        OldVersion.objects.create(name="chat", kind="policy", source="bundled", path="/p", is_serving=True)
        OldVersion.objects.create(
            name="heads-older",
            kind="classifier",
            source="trained",
            path="/a",
            metadata={"serving": True, "examples": 5},
        )
        OldVersion.objects.create(
            name="heads-newer", kind="classifier", source="trained", path="/b", metadata={"serving": True}
        )
        OldVersion.objects.create(
            name="heads-string", kind="classifier", source="trained", path="/c", metadata={"serving": "true"}
        )
        OldVersion.objects.create(
            name="heads-waiting",
            kind="classifier",
            source="trained",
            path="/d",
            metadata={"serving": False, "figures": {}},
        )
    finally:
        _migrate(latest)

    versions = {version.name: version for version in ModelVersion.objects.all()}
    assert {name for name, version in versions.items() if version.is_serving} == {"chat", "heads-newer"}
    assert all("serving" not in version.metadata for version in versions.values())
    assert versions["heads-older"].metadata == {"examples": 5} and versions["heads-waiting"].metadata == {"figures": {}}
