"""Facts recorded with a trained version: the code that trained it and the
hash of a file it learnt from."""

import hashlib
import subprocess
from pathlib import Path

from django.conf import settings


def code_version() -> str:
    """The git commit of this checkout (with "-dirty" when tracked files
    differ), or the recipe package's version where there is no git. Read
    for each job, as the checkout may change while a worker lives."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
        return f"git:{head}{'-dirty' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        pass
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
