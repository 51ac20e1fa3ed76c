"""Recipe configs: dataclasses loaded from JSON or YAML, with presets.

Like nanoGPT's configurator, unknown keys and values of the wrong type are
rejected (a typo in a hyper-parameter must not silently train with the
default). A file may name a `preset`; its values come first, then the file's,
then `--set key=value` overrides.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path

from .presets import PRESETS


class ConfigError(ValueError):
    """A config that cannot be used; the message names the key."""


def preset(kind: str, name: str) -> dict:
    """The hyper-parameters of preset `name` ("cpu-quick", "single-gpu",
    "multi-gpu") of recipe `kind`, for the jobs form to prefill."""
    if kind not in PRESETS:
        raise ConfigError(f"unknown recipe {kind!r}; expected one of {', '.join(PRESETS)}")
    if name not in PRESETS[kind]:
        raise ConfigError(f"unknown preset {name!r} for {kind}; expected one of {', '.join(PRESETS[kind])}")
    return dict(PRESETS[kind][name])


def _allowed_types(annotation) -> tuple:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return tuple(a for arg in typing.get_args(annotation) for a in _allowed_types(arg))
    origin = typing.get_origin(annotation)
    return (origin,) if origin is not None else (annotation,)


def _coerce(key: str, value, annotation):
    allowed = _allowed_types(annotation)
    if value is None:
        if type(None) in allowed:
            return None
        raise ConfigError(f"{key}: must not be null")
    if isinstance(value, bool) and bool not in allowed:
        raise ConfigError(f"{key}: expected {_type_names(allowed)}, got a boolean")
    if float in allowed and isinstance(value, int) and not isinstance(value, bool):
        return float(value) if int not in allowed else value
    if float in allowed and str not in allowed and isinstance(value, str):
        # YAML 1.1 reads 1e-4 (no dot) as a string.
        try:
            return float(value)
        except ValueError:
            pass
    for kind in allowed:
        if kind is not type(None) and isinstance(value, kind):
            return value
    raise ConfigError(f"{key}: expected {_type_names(allowed)}, got {type(value).__name__} {value!r}")


def _type_names(allowed: tuple) -> str:
    return " or ".join("null" if a is type(None) else a.__name__ for a in allowed)


def _parse_override(item: str, annotation):
    """`--set key=value`: the value is read as JSON when it parses (numbers,
    true/false, null, lists), else taken as a string."""
    key, sep, text = item.partition("=")
    if not sep:
        raise ConfigError(f"--set {item!r}: expected key=value")
    allowed = _allowed_types(annotation) if annotation is not None else (str,)
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = text
    if str in allowed and not isinstance(value, str) and not (value is None and type(None) in allowed):
        value = text
    return key.strip(), value


def read_config_file(path: str | Path) -> dict:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read config {path}: {error.strerror}") from None
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as error:  # JSON and YAML parse errors
        raise ConfigError(f"config {path} does not parse: {error}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config {path}: expected a mapping of keys to values")
    return data


def build_config(cls, values: dict, *, kind: str | None = None):
    """A `cls` instance from `values`; a `preset` key pulls in that preset's
    values first (the given values win)."""
    values = dict(values)
    name = values.pop("preset", None)
    merged = {}
    if name is not None:
        merged.update(preset(kind or cls.kind, name))
    merged.update(values)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(merged) - set(fields))
    if unknown:
        raise ConfigError(f"unknown config key {unknown[0]!r} for {cls.__name__}")
    kwargs = {key: _coerce(key, value, hints[key]) for key, value in merged.items()}
    missing = [
        name
        for name, f in fields.items()
        if name not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"missing required config key {missing[0]!r}")
    config = cls(**kwargs)
    check = getattr(config, "check", None)
    if check is not None:
        check()
    return config


def load_config(cls, path: str | Path, overrides: list[str] | tuple = ()):
    """Loads a config dataclass from a JSON/YAML file plus `key=value`
    overrides. Raises ConfigError naming the offending key."""
    values = read_config_file(path)
    hints = typing.get_type_hints(cls)
    for item in overrides:
        key, value = _parse_override(item, hints.get(item.partition("=")[0].strip()))
        values[key] = value
    return build_config(cls, values)


def config_dict(config) -> dict:
    return dataclasses.asdict(config)


def positive(config, *names: str) -> None:
    """Raises ConfigError for the first of `names` that is not > 0."""
    for name in names:
        if getattr(config, name) <= 0:
            raise ConfigError(f"{name}: must be > 0, got {getattr(config, name)!r}")


def non_negative(config, *names: str) -> None:
    """Raises ConfigError for the first of `names` that is < 0."""
    for name in names:
        if getattr(config, name) < 0:
            raise ConfigError(f"{name}: must be >= 0, got {getattr(config, name)!r}")


def fraction(config, name: str, *, allow_zero: bool = True) -> None:
    value = getattr(config, name)
    if not (0 <= value < 1) or (value == 0 and not allow_zero):
        raise ConfigError(f"{name}: must be in [0, 1), got {value!r}")


@dataclasses.dataclass(kw_only=True)
class TrainerRecipeConfig:
    """The fields every recipe run by a transformers/TRL Trainer shares (sft,
    dpo, kto; training.trainer_recipe): the model and data, LoRA, the
    schedule and the Trainer's checkpoints. A recipe's config adds its own
    fields and may give one of these another default."""

    # --- model
    output_dir: str
    model: str
    train_file: str
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    # --- data
    eval_fraction: float = 0.0
    max_length: int = 512
    # --- training
    epochs: float = 1.0
    max_steps: int = -1  # > 0 overrides epochs
    batch_size: int = 4
    grad_accum: int = 1
    lr: float = 5e-7
    warmup_ratio: float = 0.1
    gradient_checkpointing: bool | None = None  # None: on for CUDA, off on CPU
    logging_steps: int = 1
    device: str = "auto"
    seed: int = 0
    # --- checkpoints (the Trainer's, training.trainer_recipe)
    checkpoint_every: int = 100  # steps; 0: only when stopped. Written to output_dir/checkpoint/
    resume: bool = True  # go on from output_dir/checkpoint/ when it holds one

    def check(self):
        non_negative(self, "checkpoint_every")
        positive(self, "max_length", "batch_size", "grad_accum", "lr", "epochs", "logging_steps", "lora_r")
        fraction(self, "eval_fraction")
