"""Direct preference optimisation with TRL's DPOTrainer: the cheaper
alternative to reward model + PPO.

Data: preference lines (format in training/data.py); the margin is not used.

Held-out pairs (eval_fraction) are whole groups, as in the reward recipe.
With LoRA the reference model is the base with the adapter disabled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from . import device as hw
from .config import TrainerRecipeConfig, positive
from .data import load_preference_groups, split_groups
from .models import check_model_dir, lora_config, weights_dtype


@dataclass(kw_only=True)
class DpoRecipeConfig(TrainerRecipeConfig):
    kind: ClassVar[str] = "dpo"
    beta: float = 0.1
    loss_type: str = "sigmoid"

    def check(self):
        super().check()
        positive(self, "beta")


def _rows(groups) -> list[dict]:
    return [
        {
            "prompt": g.prompt,
            "chosen": [{"role": "assistant", "content": g.responses[c]}],
            "rejected": [{"role": "assistant", "content": g.responses[r]}],
        }
        for g in groups
        for c, r, _ in g.pairs
    ]


def build_trainer(config: DpoRecipeConfig, callbacks=()):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    from .trainer_recipe import trainer_arguments

    device = hw.resolve_device(config.device)
    check_model_dir(config.model)
    train_groups, eval_groups = split_groups(
        load_preference_groups(config.train_file), config.eval_fraction, config.seed
    )
    tokenizer = AutoTokenizer.from_pretrained(config.model)
    model = AutoModelForCausalLM.from_pretrained(config.model, dtype=weights_dtype(device, trained=not config.lora))
    args = DPOConfig(
        **trainer_arguments(config, device, has_eval=bool(eval_groups)),
        beta=config.beta,
        loss_type=config.loss_type,
    )
    peft_config = None
    if config.lora:
        peft_config = lora_config(
            r=config.lora_r, alpha=config.lora_alpha, dropout=config.lora_dropout, task_type="CAUSAL_LM"
        )
    return DPOTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(_rows(train_groups)),
        eval_dataset=Dataset.from_list(_rows(eval_groups)) if eval_groups else None,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=list(callbacks),
    )


def train(config: DpoRecipeConfig, *, progress=None) -> dict:
    from .trainer_recipe import run_trainer

    return run_trainer(config, build_trainer, eval_accuracy_key="eval_rewards/accuracies", progress=progress)


if __name__ == "__main__":
    from .cli import run

    run("dpo", DpoRecipeConfig, train)
