"""Supervised fine-tuning on demonstrations, with TRL's SFTTrainer.

Data: sft-messages lines (format in training/data.py).

The loss is on the final assistant turn only: each conversation becomes a
prompt (every message before it) and a completion (that turn), and TRL's
completion-only loss gives the prompt tokens label -100. This works with any
chat template; TRL's assistant_only_loss would need `{% generation %}`
markers, which SmolLM2's template lacks. LoRA (peft, merged before saving)
or full fine-tuning; bf16 and gradient checkpointing only on CUDA.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from . import device as hw
from .config import TrainerRecipeConfig
from .data import load_sft_messages
from .models import check_model_dir, lora_config, weights_dtype


@dataclass(kw_only=True)
class SftRecipeConfig(TrainerRecipeConfig):
    kind: ClassVar[str] = "sft"
    max_length: int = 1024
    packing: bool = False
    lr: float = 2e-5
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0


def build_dataset(config: SftRecipeConfig):
    """(train, eval) datasets of {"prompt": [...], "completion": [assistant turn]}."""
    from datasets import Dataset

    from .data import split_groups

    rows = [{"prompt": m[:-1], "completion": m[-1:]} for m in load_sft_messages(config.train_file)]
    train_rows, eval_rows = split_groups(rows, config.eval_fraction, config.seed)
    return Dataset.from_list(train_rows), (Dataset.from_list(eval_rows) if eval_rows else None)


def build_trainer(config: SftRecipeConfig, callbacks=()):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from .trainer_recipe import trainer_arguments

    device = hw.resolve_device(config.device)
    check_model_dir(config.model)
    train_set, eval_set = build_dataset(config)
    tokenizer = AutoTokenizer.from_pretrained(config.model)
    model = AutoModelForCausalLM.from_pretrained(config.model, dtype=weights_dtype(device, trained=not config.lora))
    args = SFTConfig(
        **trainer_arguments(config, device, has_eval=eval_set is not None),
        weight_decay=config.weight_decay,
        packing=config.packing,
        completion_only_loss=True,
    )
    peft_config = None
    if config.lora:
        peft_config = lora_config(
            r=config.lora_r, alpha=config.lora_alpha, dropout=config.lora_dropout, task_type="CAUSAL_LM"
        )
    return SFTTrainer(
        model=model,
        args=args,
        train_dataset=train_set,
        eval_dataset=eval_set,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=list(callbacks),
    )


def train(config: SftRecipeConfig, *, progress=None) -> dict:
    from .trainer_recipe import run_trainer

    return run_trainer(config, build_trainer, eval_accuracy_key="eval_mean_token_accuracy", progress=progress)


if __name__ == "__main__":
    from .cli import run

    run("sft", SftRecipeConfig, train)
