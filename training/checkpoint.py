"""Resumable checkpoints of the hand-written loops (pretrain, reward, ppo):
nanoGPT's ckpt.pt, grown into a directory for distributed runs.

    <output_dir>/checkpoint/
        state.pt       the models, optimizer, LR scheduler, step and config (the main process writes it)
        rank-<r>.pt    each process's RNG states and data order
        tokenizer/     a tokenizer the recipe made itself (pretrain's BPE)

A checkpoint is written whole into checkpoint.partial/ and then renamed into
place, so a kill in the middle of a write leaves the previous checkpoint
(or none), and a leftover partial directory is never read. The Trainer
recipes (sft, dpo) keep the Trainer's own checkpoints in the same
directory (training.trainer_recipe).

The files load with torch.load(weights_only=True): tensors and plain
Python values only, no pickled objects.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy
import torch

CHECKPOINT = "checkpoint"
_PARTIAL = "checkpoint.partial"
_PREVIOUS = "checkpoint.previous"  # the one being replaced, between the two renames of a save


def find_checkpoint(output_dir: str | Path) -> Path | None:
    """The complete checkpoint in `output_dir`, or None."""
    for name in (CHECKPOINT, _PREVIOUS):
        path = Path(output_dir) / name
        if path.is_dir():
            return path
    return None


def begin_checkpoint(output_dir: str | Path) -> Path:
    """A fresh, empty partial directory to write the next checkpoint into."""
    partial = Path(output_dir) / _PARTIAL
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    return partial


def partial_checkpoint(output_dir: str | Path) -> Path:
    return Path(output_dir) / _PARTIAL


def commit_checkpoint(output_dir: str | Path) -> Path:
    """Renames the written partial directory into place. A directory cannot
    replace a non-empty one in one rename, so the old checkpoint steps aside
    first; find_checkpoint reads it if the process dies between the two."""
    out = Path(output_dir)
    current, previous = out / CHECKPOINT, out / _PREVIOUS
    shutil.rmtree(previous, ignore_errors=True)
    if current.exists():
        current.rename(previous)
    (out / _PARTIAL).rename(current)
    shutil.rmtree(previous, ignore_errors=True)
    return current


def remove_checkpoint(output_dir: str | Path) -> None:
    """Once the final model is saved a checkpoint is only disk space."""
    for name in (CHECKPOINT, _PARTIAL, _PREVIOUS):
        shutil.rmtree(Path(output_dir) / name, ignore_errors=True)


def save_state(path: Path, state: dict) -> None:
    torch.save(state, path)


def load_state(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def state_of(obj):
    """What to save of a tracked object: a module, optimizer, scheduler or
    anything with state_dict(); a random.Random; a torch.Generator."""
    if isinstance(obj, random.Random):
        return obj.getstate()
    if isinstance(obj, torch.Generator):
        return obj.get_state()
    return obj.state_dict()


def restore(obj, state) -> None:
    if isinstance(obj, random.Random):
        obj.setstate(_tuples(state))
    elif isinstance(obj, torch.Generator):
        obj.set_state(state)
    else:
        obj.load_state_dict(state)


def rng_states() -> dict:
    """The process-wide generators: Python's, NumPy's, torch's CPU and CUDA ones."""
    kind, keys, position, has_gauss, gauss = numpy.random.get_state()
    states = {
        "python": random.getstate(),
        "numpy": [kind, torch.from_numpy(keys.astype("int64")), position, has_gauss, gauss],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict) -> None:
    random.setstate(_tuples(states["python"]))
    kind, keys, position, has_gauss, gauss = states["numpy"]
    numpy.random.set_state((kind, keys.numpy().astype("uint32"), position, has_gauss, gauss))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def _tuples(value):
    """random.Random.setstate wants the tuples getstate gave, which a saved
    file may give back as lists."""
    if isinstance(value, (list, tuple)):
        return tuple(_tuples(v) for v in value)
    return value
