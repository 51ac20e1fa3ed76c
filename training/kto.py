"""Kahneman-Tversky optimisation with TRL's KTOTrainer: a policy learns
from answers judged one at a time (a thumbs up or down in the chat), with no
pair to compare them to (Ethayarajh et al. 2024).

Data: unpaired lines (format in training/data.py). KTO weighs desirable
and undesirable answers so that their shares count alike
(`desirable_weight`, `undesirable_weight`); chat feedback is mostly one
kind, so the recipe sets the weights from the data, as the paper
recommends, unless a config gives them.

Held-out rows (eval_fraction) are whole prompts. With LoRA the reference
model is the base with the adapter disabled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from . import device as hw
from .config import ConfigError, TrainerRecipeConfig, positive
from .data import DataError, load_unpaired, split_groups
from .models import check_model_dir, lora_config, weights_dtype


@dataclass(kw_only=True)
class KtoRecipeConfig(TrainerRecipeConfig):
    kind: ClassVar[str] = "kto"
    beta: float = 0.1
    desirable_weight: float | None = None  # None: balanced from the data's shares
    undesirable_weight: float | None = None

    def check(self):
        super().check()
        positive(self, "beta")
        for key in ("desirable_weight", "undesirable_weight"):
            value = getattr(self, key)
            if value is not None and value <= 0:
                raise ConfigError(f"{key}: must be > 0")


def balanced_weights(rows: list[dict]) -> tuple[float, float]:
    """(desirable, undesirable) weights that make desirable_weight x good
    answers equal undesirable_weight x bad ones, the larger side at 1.0: the
    KTO paper's rule of thumb for imbalanced data."""
    good = sum(1 for row in rows if row["label"])
    bad = len(rows) - good
    if not good or not bad:
        raise DataError("KTO needs both good and bad answers (labels true and false); this data has one kind")
    if good >= bad:
        return bad / good, 1.0
    return 1.0, good / bad


def _prompt_key(row: dict) -> str:
    return repr(row["prompt"])


def split_by_prompt(rows: list[dict], eval_fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """Held-out rows are whole prompts, so no prompt is on both sides."""
    by_prompt: dict[str, list[dict]] = {}
    for row in rows:
        by_prompt.setdefault(_prompt_key(row), []).append(row)
    train_groups, eval_groups = split_groups(list(by_prompt.values()), eval_fraction, seed)
    return [r for g in train_groups for r in g], [r for g in eval_groups for r in g]


def build_trainer(config: KtoRecipeConfig, callbacks=()):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import KTOConfig, KTOTrainer

    from .trainer_recipe import trainer_arguments

    device = hw.resolve_device(config.device)
    check_model_dir(config.model)
    train_rows, eval_rows = split_by_prompt(load_unpaired(config.train_file), config.eval_fraction, config.seed)
    desirable, undesirable = balanced_weights(train_rows)
    tokenizer = AutoTokenizer.from_pretrained(config.model)
    model = AutoModelForCausalLM.from_pretrained(config.model, dtype=weights_dtype(device, trained=not config.lora))
    args = KTOConfig(
        **trainer_arguments(config, device, has_eval=bool(eval_rows)),
        beta=config.beta,
        desirable_weight=config.desirable_weight or desirable,
        undesirable_weight=config.undesirable_weight or undesirable,
    )
    peft_config = None
    if config.lora:
        peft_config = lora_config(
            r=config.lora_r, alpha=config.lora_alpha, dropout=config.lora_dropout, task_type="CAUSAL_LM"
        )
    return KTOTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(train_rows),
        eval_dataset=Dataset.from_list(eval_rows) if eval_rows else None,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=list(callbacks),
    )


def train(config: KtoRecipeConfig, *, progress=None) -> dict:
    from .trainer_recipe import run_trainer

    return run_trainer(config, build_trainer, eval_accuracy_key=None, progress=progress)


if __name__ == "__main__":
    from .cli import run

    run("kto", KtoRecipeConfig, train)
