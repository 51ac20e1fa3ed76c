"""The scaffold the hand-written loops (pretrain, reward, ppo) share, so
that each recipe's loop reads top to bottom in one pass:

    with RecipeRun(config, progress=progress) as run:
        model, optimizer = ..., ...                 # on run.device
        run.track(model=model, optimizer=optimizer) # checkpointed by the main process
        run.track_local(order=order)                # checkpointed by every process
        step = run.start(total_steps)               # 0, or the checkpoint's step with all tracked restored
        while step < total_steps:
            if run.should_stop(step):               # checkpoints when due, and when stopping
                break
            ...                                     # one optimizer step
            step += 1
            run.writer.write(step, loss=...)
        run.end(step, final, save=lambda: save_pretrained(model, tokenizer, run.out))
    return run.summary

Entering joins the process group (under torchrun), seeds, and turns
SIGTERM/SIGINT into a stop flag; leaving saves the model (main process),
writes summary.json, waits for the other processes and tears all that down.
A config needs output_dir, device, seed, resume and checkpoint_every.
"""

from __future__ import annotations

import time
from pathlib import Path

from . import checkpoint as ckpt
from .config import ConfigError, config_dict
from .device import resolve_device, seed_everything
from .distributed import any_process, barrier, init_distributed, shutdown_distributed, world
from .metrics import MetricsWriter, write_summary
from .stop import StopSignal


class RecipeRun:
    def __init__(self, config, *, progress=None, seed_per_rank: bool = False):
        """`seed_per_rank`: each process seeds config.seed + rank (PPO samples
        different answers on each)."""
        self.config = config
        self.kind = config.kind
        self.out = Path(config.output_dir)
        self.progress = progress
        self.seed_per_rank = seed_per_rank
        self.stopped = False
        self.summary: dict | None = None
        self.resumed_from_step: int | None = None
        self.writer: MetricsWriter | None = None
        self._shared: dict = {}
        self._local: dict = {}
        self._saved_step: int | None = None
        self._wall_before = 0.0
        self._end = None

    def __enter__(self) -> RecipeRun:
        self.started = time.monotonic()
        self.device = resolve_device(self.config.device)
        self.distributed = init_distributed(self.device)
        self.rank, self.world_size = world()
        self.main = self.rank == 0
        seed_everything(self.config.seed + (self.rank if self.seed_per_rank else 0))
        self.out.mkdir(parents=True, exist_ok=True)
        # The checkpoint to resume from, found before the recipe builds
        # anything: pretrain reads its tokenizer back from it.
        self.checkpoint = ckpt.find_checkpoint(self.out) if self.config.resume else None
        self.stop = StopSignal().install()
        return self

    def track(self, **objects) -> None:
        """Models, optimizer, scheduler (anything with state_dict), the same on
        every process: the main process saves them. An object with only
        save_pretrained (a tokenizer) is saved as a directory of that name,
        which the recipe reads back itself from `self.checkpoint`."""
        self._shared.update(_unreserved(objects))

    def track_local(self, **objects) -> None:
        """What differs between processes (random.Random, torch.Generator,
        data order): each process saves its own."""
        self._local.update(_unreserved(objects))

    def start(self, total_steps: int) -> int:
        """Restores the checkpoint, if any, into what was tracked (RNG states
        last: the loop goes on from them), starts metrics.jsonl, and
        returns the step to start from."""
        local = {}  # this process's part of the checkpoint
        if self.checkpoint is not None:
            rank_file = self.checkpoint / f"rank-{self.rank}.pt"
            if not rank_file.exists():
                raise ConfigError(f"resume: {self.checkpoint} was written by fewer processes than {self.world_size}")
            local = ckpt.load_state(rank_file)
            shared = ckpt.load_state(self.checkpoint / "state.pt")
            for name, obj in self._shared.items():
                if hasattr(obj, "state_dict"):
                    ckpt.restore(obj, shared[name])
            for name, obj in self._local.items():
                ckpt.restore(obj, local[name])
            ckpt.restore_rng_states(local["rng_states"])
            self.resumed_from_step = self._saved_step = int(local["step"])
            print(f"{self.kind}: resuming from the checkpoint of step {self.resumed_from_step}", flush=True)
        self._wall_before = local.get("wall_time_s", 0.0)
        self.writer = MetricsWriter(
            self.out,
            total_steps,
            enabled=self.main,
            progress=self.progress,
            resumed_step=self.resumed_from_step,
            elapsed_s=local.get("elapsed_s", 0.0),
        )
        return self.resumed_from_step or 0

    def should_stop(self, step: int) -> bool:
        """At a step boundary: True when any process was told to stop (all
        then stop at this step). Saves a checkpoint when stopping and every
        `checkpoint_every` steps."""
        if any_process(self.stop.requested, self.device):
            self.stopped = True
            self.save_checkpoint(step)
            return True
        every = self.config.checkpoint_every
        if every and step % every == 0:
            self.save_checkpoint(step)
        return False

    def save_checkpoint(self, step: int) -> None:
        """Every process writes its part into the partial directory, then
        the main process renames it into place."""
        if step == 0 or step == self._saved_step:
            return
        partial = ckpt.begin_checkpoint(self.out) if self.main else ckpt.partial_checkpoint(self.out)
        barrier()
        if self.main:
            state = {"step": step, "config": config_dict(self.config)}
            for name, obj in self._shared.items():
                if hasattr(obj, "state_dict"):
                    state[name] = ckpt.state_of(obj)
                else:
                    obj.save_pretrained(partial / name)
            ckpt.save_state(partial / "state.pt", state)
        local = {name: ckpt.state_of(obj) for name, obj in self._local.items()}
        ckpt.save_state(
            partial / f"rank-{self.rank}.pt",
            {
                "step": step,
                "elapsed_s": self.writer.elapsed(),
                "wall_time_s": self.wall_time_s(),
                "rng_states": ckpt.rng_states(),
                **local,
            },
        )
        barrier()
        if self.main:
            ckpt.commit_checkpoint(self.out)
        barrier()
        self._saved_step = step

    def wall_time_s(self) -> float:
        """Since the run began, over every process that resumed it."""
        return self._wall_before + time.monotonic() - self.started

    def end(self, step: int, final: dict, *, save) -> None:
        """What the run ends with: its step, its final metrics, and how the
        main process saves the model. Leaving the `with` block acts on it."""
        self._end = (step, final, save)

    def __exit__(self, error_type, error, traceback) -> None:
        try:
            if error_type is None:
                self._finish(*self._end)
        finally:
            self.stop.uninstall()
            shutdown_distributed()

    def _finish(self, step: int, final: dict, save) -> None:
        """Saves (main process), writes summary.json last, and drops the
        checkpoint of a completed run: the saved model is its result."""
        if self.main:
            save()
            self.summary = write_summary(
                self.out,
                kind=self.kind,
                stopped=self.stopped,
                steps=step,
                wall_time_s=self.wall_time_s(),
                final=final,
                config=config_dict(self.config),
                resumed_from_step=self.resumed_from_step,
            )
            if not self.stopped:
                ckpt.remove_checkpoint(self.out)
        else:
            self.summary = {
                "kind": self.kind,
                "status": "stopped" if self.stopped else "completed",
                "steps": step,
                "final": final,
                "resumed_from_step": self.resumed_from_step,
            }
        barrier()


_RESERVED = {"step", "config", "elapsed_s", "wall_time_s", "rng_states"}  # the checkpoint's own entries


def _unreserved(objects: dict) -> dict:
    clash = _RESERVED & set(objects)
    if clash:
        raise ValueError(f"RecipeRun.track: {sorted(clash)[0]!r} is a name the checkpoint uses itself")
    return objects
