"""torchrun / DistributedDataParallel plumbing: one process per device, gloo on CPU, nccl on GPU."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from contract.devices import resolve_device


@dataclass(frozen=True)
class Runtime:
    """Where this process runs and which share of the work it owns."""

    device: torch.device
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def start(requested_device: str) -> Runtime:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1), else run alone."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    device = resolve_device(requested_device)
    if world_size == 1:
        return Runtime(device=device)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Runtime(device=device, rank=rank, world_size=world_size)


def stop(runtime: Runtime) -> None:
    if runtime.distributed and dist.is_initialized():
        dist.destroy_process_group()


def sum_across(runtime: Runtime, values: torch.Tensor) -> torch.Tensor:
    """Sum a tensor over all processes (a no-op when running alone)."""
    if runtime.distributed:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def broadcast_flag(runtime: Runtime, flag: bool) -> bool:
    """Rank 0's decision (e.g. early stopping), shared so every rank stops together."""
    if not runtime.distributed:
        return flag
    value = torch.tensor([int(flag)], device=runtime.device)
    dist.broadcast(value, src=0)
    return bool(value.item())
