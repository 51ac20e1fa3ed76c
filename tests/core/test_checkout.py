"""core.checkout: the commit recorded with a job's lineage and a dataset card."""

import re

from core.checkout import checkout_commit


def test_a_git_checkout_gives_its_commit_and_anything_else_none(settings, tmp_path):
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", checkout_commit() or "")
    settings.BASE_DIR = tmp_path  # not a git checkout
    assert checkout_commit() is None
