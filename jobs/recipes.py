"""The jobs app's side of the recipe contract (training/, plain Python): which
module runs a job, the presets that prefill the form, the config keys a job
sets itself, and the command line that starts a recipe.

The recipe package is a setting (TRAINING_RECIPE_PACKAGE) so tests can run
small stand-in recipes; each job records the module it was created with."""
import importlib
import re
import sys

from django.conf import settings

PRESETS = {"cpu-quick": "CPU quick", "single-gpu": "Single GPU", "multi-gpu": "Multi-GPU"}

# The inputs of each recipe, which the job fills in from the chosen versions
# and data; the form refuses them as hyper-parameters, as it does
# `output_dir`, so nobody points a recipe at files of their choosing.
INPUT_KEYS = {
    "pretrain": ("corpus", "tokenizer"),
    "sft": ("model", "train_file"),
    "reward": ("model", "train_file"),
    "ppo": ("policy_model", "reward_model", "prompts_file"),
    "dpo": ("model", "train_file"),
}
RESERVED_KEYS = frozenset({"output_dir", "preset"} | {key for keys in INPUT_KEYS.values() for key in keys})

_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def recipe_module(kind: str) -> str:
    """The module a new `kind` job runs, e.g. training.sft."""
    return f"{settings.TRAINING_RECIPE_PACKAGE}.{kind}"


def preset_values(kind: str, name: str) -> dict:
    """The hyper-parameters of preset `name` for `kind`, from the recipe
    package's config.preset(). Raises ValueError with a message for people
    when the package or the preset is missing."""
    package = settings.TRAINING_RECIPE_PACKAGE
    try:
        config = importlib.import_module(f"{package}.config")
    except ImportError as error:
        raise ValueError(f"The training recipes ({package}) cannot be loaded: {error}.") from None
    try:
        return dict(config.preset(kind, name))
    except ValueError as error:  # the recipes' ConfigError is a ValueError
        raise ValueError(f"No {PRESETS.get(name, name)} preset for {kind}: {error}.") from None


def all_presets() -> dict[str, dict[str, dict]]:
    """Every kind's presets that exist, for the form's script to prefill."""
    found: dict[str, dict[str, dict]] = {}
    for kind in INPUT_KEYS:
        for name in PRESETS:
            try:
                found.setdefault(kind, {})[name] = preset_values(kind, name)
            except ValueError:
                continue
    return found


def recipe_command(*, module: str, config_path: str, nproc: int = 1) -> list[str]:
    """`python -m <module> --config FILE`, under torchrun when several
    processes share the job (the multi-GPU preset)."""
    if not _MODULE.fullmatch(module):
        raise ValueError(f"{module!r} is not a module name")
    if nproc > 1:
        return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
                "-m", module, "--config", config_path]
    return [sys.executable, "-m", module, "--config", config_path]
