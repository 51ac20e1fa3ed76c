"""Loading and saving models the way every recipe needs: the dtype from the
hardware, LoRA adapters (peft) that are merged before saving, so that an
output is always a plain Hugging Face model directory."""

from __future__ import annotations

from pathlib import Path

import torch

from . import device as hw
from .data import DataError


def load_dtype(device: str) -> torch.dtype:
    return torch.bfloat16 if hw.use_bf16(device) else torch.float32


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
