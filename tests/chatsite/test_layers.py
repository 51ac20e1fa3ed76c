"""The layering contract (pyproject.toml's [tool.importlinter]) holds, and
it has teeth: an import planted against it, top-level or lazy inside a
function, breaks it. The planted imports go into a copy of the tree, never
the checkout."""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _root_packages() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["importlinter"]["root_packages"]


def _lint_imports(tree: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory) -> Path:
    """The Python sources of every root package, and the contract."""
    tree = tmp_path_factory.mktemp("tree")
    shutil.copy(ROOT / "pyproject.toml", tree)
    for package in _root_packages():
        shutil.copytree(
            ROOT / package,
            tree / package,
            ignore=shutil.ignore_patterns("*.pyc", "__pycache__", "*.gguf", "*.safetensors", "*.bin"),
        )
    return tree


def test_the_checkout_keeps_every_contract(tree_copy):
    result = _lint_imports(tree_copy)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "module, planted, broken",
    [
        # the core may not reach up into an app
        ("core/text.py", "from chat.models import Message\n", "core is not allowed to import chat"),
        # chat may not call labeling, even lazily: labeling listens to chat's signals
        (
            "chat/services.py",
            "def planted():\n    from labeling import models\n",
            "chat is not allowed to import labeling",
        ),
        # the recipes stay free of Django
        ("training/data.py", "import django.db\n", "training is not allowed to import django"),
    ],
)
def test_a_planted_reverse_import_breaks_the_contract(tree_copy, tmp_path, module, planted, broken):
    tree = tmp_path / "tree"
    shutil.copytree(tree_copy, tree)
    path = tree / module
    path.write_text(path.read_text() + "\n\n" + planted)
    result = _lint_imports(tree)
    assert result.returncode != 0
    assert broken in result.stdout, result.stdout
