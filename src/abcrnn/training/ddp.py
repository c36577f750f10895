"""DistributedDataParallel plumbing for training under torchrun (gloo on CPU, nccl on GPU).

Outside torchrun (WORLD_SIZE unset or 1) every function here is a no-op, so the
training loop reads the same either way."""
from __future__ import annotations

import os

import torch


def setup(device: torch.device) -> tuple[int, int]:
    """(rank, world_size); starts the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1
    import torch.distributed as dist
    if device.type == "cuda":   # one GPU per process: "cuda" then means this rank's own GPU
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), world


def decide(flag: bool, device: torch.device, world: int) -> bool:
    """Rank 0's flag, on every rank (every rank must call this at the same step)."""
    if world == 1:
        return flag
    import torch.distributed as dist
    t = torch.tensor([float(flag)], device=device)
    dist.broadcast(t, 0)
    return bool(t.item())


def finish(world: int) -> None:
    """Leave together (rank 0 may still be validating and saving), then tear down."""
    if world > 1:
        import torch.distributed as dist
        dist.barrier()
        dist.destroy_process_group()


def rank_weighted(loss: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Under DDP, the loss to back-propagate so that DDP's gradient *average* over
    ranks equals the gradient of the mean over every real target of every rank.

    Each rank's loss is a mean over its own real targets (padding, -1, is
    ignored), and ranks can hold different numbers of them; DDP divides the sum
    of gradients by the world size, so rank r's loss is scaled by
    world * n_r / sum(n). One all-reduce of a single number per step."""
    import torch.distributed as dist
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return loss
    n_local = (targets >= 0).sum().to(loss.dtype)
    n_all = n_local.detach().clone()
    dist.all_reduce(n_all)
    return loss * (dist.get_world_size() * n_local / n_all.clamp(min=1))
