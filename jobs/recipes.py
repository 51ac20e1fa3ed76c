"""The jobs app's side of the recipe contract (training/, plain Python): one
table, RECIPES, of what each training kind trains from and what it makes,
the presets that prefill the form, the config keys a job sets itself, and
the command line that starts a recipe.

Every per-kind fact the app uses is a field of RecipeSpec: the model's
choices, the form's checks and the inputs its script shows, the runner's
data preparation and config, and the kind of version registered. Adding a
recipe (GRPO...) is one row here plus training/<kind>.py with its
presets in training/presets.py (and the migration makemigrations writes
for the new choice).

The recipe package is a setting (TRAINING_RECIPE_PACKAGE) so tests can run
small stand-in recipes; each job records the module it was created with."""

import importlib
import re
import sys
from dataclasses import dataclass

from django.conf import settings

from labeling.models import DatasetSnapshot
from registry.models import ModelVersion

PRESETS = {"cpu-quick": "CPU quick", "single-gpu": "Single GPU", "multi-gpu": "Multi-GPU"}

# How a job's training data is written before the recipe starts (the
# runner has one function per way), and the config key it is passed under.
CORPUS = "corpus"  # a text file under DATA_DIR/corpora/, read where it is
EXPORT = "export"  # the snapshot exported in the spec's export_format
PROMPTS = "prompts"  # each snapshot row's prompt once (rollouts are generated)
EVALUATION = "evaluation"  # an evaluation set's prompts (evaluation.EvaluationSet)
DATA_KEYS = {CORPUS: "corpus", EXPORT: "train_file", PROMPTS: "prompts_file", EVALUATION: "prompts_file"}
# What an evaluation reads besides its prompts: the red-team set's prompts
# and a held-out text (a corpus) for bits per byte.
EVALUATION_EXTRA_KEYS = ("red_team_file", "text_file")

# Every kind a job can start from: the form never offers classifiers.
_ANY_BASE = (ModelVersion.Kind.POLICY, ModelVersion.Kind.REWARD, ModelVersion.Kind.VALUE)
_POLICY = (ModelVersion.Kind.POLICY,)


@dataclass(frozen=True)
class RecipeSpec:
    """What one training kind (the recipe training.<kind>) needs and makes."""

    kind: str
    label: str
    # The base version's path goes to config[base_key]; required or not, and
    # which kinds of version it may be.
    base_key: str
    base_required: bool
    base_kinds: tuple[str, ...]
    # How the training data is written (CORPUS, EXPORT or PROMPTS) and, for
    # EXPORT, labeling's export format; the snapshot kinds it reads (none
    # for CORPUS).
    data: str
    snapshot_kinds: tuple[str, ...] = ()
    export_format: str = ""
    # Set where the recipe scores with a reward model version (PPO): the
    # config key of its path; the job then needs one.
    reward_key: str = ""
    # Set where the recipe compares with a baseline policy and is judged by
    # reward models (the evaluation): the config keys of their paths.
    baseline_key: str = ""
    judges_key: str = ""
    # The kind of the model version the finished job registers; "" for a
    # job whose result is its figures (the evaluation: TrainingJob.results).
    output_kind: str = ModelVersion.Kind.POLICY

    @property
    def input_keys(self) -> tuple[str, ...]:
        """The config keys the job fills in from the chosen versions and data."""
        extra = EVALUATION_EXTRA_KEYS if self.data == EVALUATION else ()
        keys = (self.base_key, self.reward_key, self.baseline_key, self.judges_key, DATA_KEYS[self.data], *extra)
        return tuple(key for key in keys if key)


RECIPES: dict[str, RecipeSpec] = {
    spec.kind: spec
    for spec in (
        # Pre-training from scratch on a corpus; a base version only lends its tokenizer.
        RecipeSpec(
            kind="pretrain",
            label="Pre-training",
            base_key="tokenizer",
            base_required=False,
            base_kinds=_ANY_BASE,
            data=CORPUS,
        ),
        RecipeSpec(
            kind="sft",
            label="Supervised fine-tuning",
            base_key="model",
            base_required=True,
            base_kinds=_POLICY,
            data=EXPORT,
            snapshot_kinds=(DatasetSnapshot.Kind.SFT,),
            export_format="sft-messages",
        ),
        RecipeSpec(
            kind="reward",
            label="Reward model",
            base_key="model",
            base_required=True,
            base_kinds=_ANY_BASE,
            data=EXPORT,
            snapshot_kinds=(DatasetSnapshot.Kind.PREFERENCE,),
            export_format="preference",
            output_kind=ModelVersion.Kind.REWARD,
        ),
        # The base is the policy; rollouts start from the snapshot's prompts.
        RecipeSpec(
            kind="ppo",
            label="PPO",
            base_key="policy_model",
            base_required=True,
            base_kinds=_POLICY,
            data=PROMPTS,
            snapshot_kinds=(DatasetSnapshot.Kind.SFT, DatasetSnapshot.Kind.PREFERENCE),
            reward_key="reward_model",
        ),
        RecipeSpec(
            kind="dpo",
            label="DPO",
            base_key="model",
            base_required=True,
            base_kinds=_POLICY,
            data=EXPORT,
            snapshot_kinds=(DatasetSnapshot.Kind.PREFERENCE,),
            export_format="preference",
        ),
        # Answers judged one at a time, no pair: chat's thumbs up and down,
        # or the best and worst answers of annotators' rankings.
        RecipeSpec(
            kind="kto",
            label="KTO",
            base_key="model",
            base_required=True,
            base_kinds=_POLICY,
            data=EXPORT,
            snapshot_kinds=(DatasetSnapshot.Kind.FEEDBACK, DatasetSnapshot.Kind.PREFERENCE),
            export_format="unpaired",
        ),
        # Not training: the base is the candidate, answering an evaluation
        # set's prompts beside a baseline, judged by reward models
        # (training.evaluate); the result is figures, not a version.
        RecipeSpec(
            kind="evaluate",
            label="Evaluation",
            base_key="candidate_model",
            base_required=True,
            base_kinds=_POLICY,
            data=EVALUATION,
            baseline_key="baseline_model",
            judges_key="judges",
            output_kind="",
        ),
    )
}

KIND_CHOICES = [(spec.kind, spec.label) for spec in RECIPES.values()]

# The form refuses the inputs as hyper-parameters, as it does `output_dir`,
# so nobody points a recipe at files of their choosing.
RESERVED_KEYS = frozenset({"output_dir", "preset"} | {key for spec in RECIPES.values() for key in spec.input_keys})

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
    for kind in RECIPES:
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
        return [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={nproc}",
            "-m",
            module,
            "--config",
            config_path,
        ]
    return [sys.executable, "-m", module, "--config", config_path]
