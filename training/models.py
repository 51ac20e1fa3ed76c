"""Loading and saving models the way every recipe needs: the dtype from the
hardware, LoRA adapters (peft) that are merged before saving, so that an
output is always a plain Hugging Face model directory."""

from __future__ import annotations

from pathlib import Path

import torch

from . import device as hw
from .data import DataError


def weights_dtype(device: str, *, trained: bool) -> torch.dtype:
    """The dtype to load weights in. Weights an optimiser updates stay fp32
    (bf16 compute comes from autocast): an AdamW step smaller than half a
    bf16 step of the weight rounds away, and at the GPU presets' learning
    rates (1e-6 and below) that is nearly every step. Weights that are only
    read (a frozen reference, a reward model, the base that LoRA leaves
    frozen) are bf16 where the hardware has it, half the memory traffic."""
    if trained:
        return torch.float32
    return torch.bfloat16 if hw.use_bf16(device) else torch.float32


def upcast_trainable(model):
    """Every parameter that will be trained in fp32, whatever it was loaded
    in: peft keeps its adapters in fp32 but not, for instance, the copy of a
    classifier's score head it trains (`modules_to_save`)."""
    for param in model.parameters():
        if param.requires_grad and param.dtype != torch.float32:
            param.data = param.data.float()
    return model


def check_model_dir(name: str) -> None:
    """A local path that is not a model directory is a data error, not a
    hub download (runs are offline)."""
    path = Path(name)
    if (path.is_absolute() or name.startswith(".") or path.exists() or "/" not in name) and not (
        path / "config.json"
    ).is_file():
        raise DataError(f"model {name!r}: not a model directory (no config.json)")


def lora_config(*, r: int, alpha: int, dropout: float, task_type: str, layers: list[int] | None = None):
    """LoRA on every linear layer (of `layers` only, when given)."""
    from peft import LoraConfig

    target = "all-linear"
    if layers is not None:
        target = r".*\.layers\.(" + "|".join(map(str, layers)) + r")\.(self_attn|mlp)\.\w+_proj"
    return LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=target, task_type=task_type)


def merged(model):
    """The plain model of a peft model with its adapter merged in."""
    if hasattr(model, "merge_and_unload"):
        return model.merge_and_unload()
    return model


def save_pretrained(model, tokenizer, out: str | Path) -> None:
    """Model then tokenizer; callers write summary.json after this."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model = merged(model)
    if getattr(model.config, "use_cache", None) is False:
        model.config.use_cache = True
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
