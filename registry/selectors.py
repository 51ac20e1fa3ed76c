from django.conf import settings

from .models import ModelVersion


def serving_model_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(is_serving=True, kind=ModelVersion.Kind.POLICY).first()


def chat_model_spec() -> tuple[str, ModelVersion | None]:
    """What the generation worker should load: (path or hub id, version).

    `CHAT_MODEL` wins when set: a registered version's name, a local
    directory or a hub id. Otherwise the registry's serving version.
    """
    name = settings.CHAT_MODEL
    if name:
        version = ModelVersion.objects.filter(name=name).first()
        return (version.path, version) if version else (name, None)
    version = serving_model_version()
    if version is None:
        raise LookupError("No model serves chat: run `python manage.py bootstrap` or set CHAT_MODEL.")
    return version.path, version


def model_version_list():
    return ModelVersion.objects.select_related("base", "job", "snapshot").order_by("-created_at")


def model_version_lineage(*, version: ModelVersion) -> list[ModelVersion]:
    """The chain of versions from the first one (the bundled or imported
    base, or a model pre-trained here) to `version`, oldest first; each
    with its job and snapshot loaded. A cycle cannot be made through the
    app, but a broken chain stops rather than loops."""
    chain: list[ModelVersion] = []
    seen: set[int] = set()
    node = version
    while node is not None and node.pk not in seen:
        seen.add(node.pk)
        chain.append(node)
        node = (
            ModelVersion.objects.select_related("base", "job", "job__reward_version", "job__created_by", "snapshot")
            .filter(pk=node.base_id)
            .first()
        )
    return chain[::-1]
