"""The distributed context of a run launched by torchrun or accelerate
(they set RANK and WORLD_SIZE): joining and leaving the process group, and
the collectives the recipes call. In a single process each is a no-op (or
the identity), so the recipes call them unconditionally."""

from __future__ import annotations

import os

import torch

from .device import is_cuda


def world() -> tuple[int, int]:
    """(rank, world size) from the launcher's environment."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def is_main_process() -> bool:
    return world()[0] == 0


def init_distributed(device: str) -> bool:
    """Joins the process group when launched with several processes;
    returns whether the run is distributed."""
    rank, size = world()
    if size <= 1:
        return False
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if is_cuda(device) else "gloo")
    if is_cuda(device):
        torch.cuda.set_device(torch.device(device))
    return True


def all_reduce_mean(value: float, device: str) -> float:
    """The mean of a scalar over the processes of a distributed run."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return value
    tensor = torch.tensor([float(value)], device=device)
    dist.all_reduce(tensor)
    return tensor.item() / dist.get_world_size()


def any_process(flag: bool, device: str) -> bool:
    """True when any process has `flag` set: a SIGTERM one rank received stops
    them all at the same step, so none waits forever in a collective."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return flag
    tensor = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(tensor)
    return tensor.item() > 0


def data_parallel(model, device: str, distributed: bool):
    """`model` wrapped in DistributedDataParallel in a distributed run, else
    `model` itself. The recipes keep `model` for saving and clipping and
    call the wrapper for the forward."""
    if not distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[torch.device(device).index] if is_cuda(device) else None)


def barrier() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def shutdown_distributed() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_grads(params) -> None:
    """Averages gradients over the processes (the PPO loop's models are
    called through submodules, which DistributedDataParallel would not see)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return
    size = dist.get_world_size()
    for p in params:
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= size
