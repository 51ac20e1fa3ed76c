"""Which classifier head moderates: the one home of that decision, read by
the pipeline's classifier layer and by the moderators' classifier page.

The registry says it: the classifier `ModelVersion` with `is_serving` (one
per kind, by constraint), which an admin promotes through
`registry.services.model_version_promote`. With none promoted, the head
shipped in `moderation/heads/default/` serves.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from registry.models import ModelVersion

logger = logging.getLogger(__name__)

# The head shipped with the app, which moderates until an admin promotes a
# trained version.
SHIPPED_HEAD = Path(__file__).resolve().parent.parent / "heads" / "default"


def serving_classifier_version() -> ModelVersion | None:
    """The classifier version an admin promoted, if any."""
    return ModelVersion.objects.filter(kind=ModelVersion.Kind.CLASSIFIER, is_serving=True).first()


def classifier_head_path() -> Path:
    """The directory of the head that should serve now: the promoted
    version's, unless its files are gone from this host (a bad promotion
    must not stop moderation), else the shipped one."""
    version = serving_classifier_version()
    if version is not None:
        path = Path(version.path)
        if path.is_dir():
            return path
        logger.warning("Classifier version %s serves but %s is missing; using the shipped head.", version.name, path)
    return SHIPPED_HEAD


def head_metadata(directory: Path) -> dict:
    """A head's metadata.json, or {} when it cannot be read."""
    try:
        return json.loads((Path(directory) / "metadata.json").read_text())
    except (OSError, ValueError):
        return {}


@dataclass(frozen=True)
class ServingHead:
    name: str
    version: ModelVersion | None  # None: the shipped head
    figures: dict  # cross-validated, as moderation.classifier.train.cross_validate gives them


def serving_classifier_head() -> ServingHead:
    """The head that moderates now and its cross-validated figures: the
    promoted version, else the shipped head."""
    version = serving_classifier_version()
    if version is not None:
        figures = (version.metadata or {}).get("figures") or head_metadata(Path(version.path)).get(
            "cross_validation", {}
        )
        return ServingHead(name=version.name, version=version, figures=figures or {})
    return ServingHead(
        name="default (shipped)", version=None, figures=head_metadata(SHIPPED_HEAD).get("cross_validation", {})
    )
