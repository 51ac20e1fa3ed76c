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
