"""Facts recorded with a trained version: the code that trained it and the
hash of a file it learnt from."""

import hashlib
from pathlib import Path

from django.conf import settings

from core.checkout import checkout_commit


def code_version() -> str:
    """The git commit of this checkout (core.checkout), or the recipe
    package's version where there is no git. Read for each job."""
    commit = checkout_commit()
    if commit is not None:
        return f"git:{commit}"
    try:
        from importlib import import_module

        package = import_module(settings.TRAINING_RECIPE_PACKAGE)
        return f"{settings.TRAINING_RECIPE_PACKAGE} {getattr(package, '__version__', 'unknown')}"
    except ImportError:
        return "unknown"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
