"""Which code this process runs: the git commit of its checkout, recorded
with what it makes (a job's lineage, a dataset card)."""

import subprocess

from django.conf import settings


def checkout_commit() -> str | None:
    """The commit at BASE_DIR, with "-dirty" when tracked files differ from
    it; None where the code is not a git checkout (an image, a wheel). Read
    each time: the checkout may change while a process lives."""
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
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}{'-dirty' if dirty else ''}" if head else None
