"""Training checkpoints: all that a stopped run needs to continue as if it had never stopped.

`checkpoints/<name>/last.pt` holds the weights, the optimizer, the learning-rate schedule, the RNG
state, the step and epoch reached, the partial loss of the current epoch, the network's config, the
options that shape the run, and the number of processes that wrote it. Rank 0 writes it, atomically
(temp file + rename), every `--checkpoint-every` steps and at every epoch's end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from model import store


def path_of(checkpoint_dir: Path, name: str) -> Path:
    return checkpoint_dir / name / "last.pt"


def remove_stale(path: Path) -> None:
    """Delete the temp files a kill during a checkpoint write left behind."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink()


def save(path: Path, state: dict[str, Any]) -> None:
    store.atomic_write(path, lambda p: torch.save(state, p))


def capture(vae: nn.Module, opt: Optimizer, sched: LRScheduler, device: torch.device) -> dict[str, Any]:
    """The trainable state: weights, optimizer, schedule and RNG (the CUDA one too on a GPU)."""
    return {"model": vae.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
            "rng": torch.get_rng_state(),
            **({"cuda_rng": torch.cuda.get_rng_state(device)} if device.type == "cuda" else {})}


def restore(state: dict[str, Any], vae: nn.Module, opt: Optimizer, sched: LRScheduler,
            device: torch.device) -> None:
    """Put back what `capture` took."""
    vae.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"])
    if device.type == "cuda" and "cuda_rng" in state:
        torch.cuda.set_rng_state(state["cuda_rng"], device)


def read(path: Path) -> dict[str, Any] | None:
    """The checkpoint's state on the CPU (torch.set_rng_state takes only a CPU tensor;
    load_state_dict moves the rest); None when there is none."""
    if not path.is_file():
        return None
    state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    state.setdefault("world_size", 1)  # checkpoints from before torchrun: one process, epoch ends only
    state.setdefault("train_sum", 0.0)
    return state


def _options(changed: dict[str, tuple[Any, Any]]) -> str:
    return ", ".join(f"--{k.replace('_', '-')} {was} (now {now})" for k, (was, now) in changed.items())


def refusal(path: Path, state: dict[str, Any], config: dict[str, Any], schedule: dict[str, Any],
            world_size: int, n_images: int) -> str | None:
    """Why this run cannot continue the checkpoint (one line), or None when it can."""
    if state["config"] != config:
        return (f"{path} was made with config {state['config']}, not {config}; "
                "pass the same options, or another --name")
    saved = state.get("schedule", schedule)  # checkpoints before this check have none
    changed = {k: (saved.get(k), v) for k, v in schedule.items() if saved.get(k, v) != v}
    if changed:
        return (f"{path} was trained with {_options(changed)}: resuming with other values would "
                "change the learning-rate schedule or the data mid-run; pass the same values, "
                "or start another --name")
    was = state["world_size"]
    uneven = [n for n in (was, world_size) if n_images % n]
    if was != world_size and uneven:
        # DistributedSampler pads the epoch to a multiple of the world size by repeating images:
        # another padding would give other batches than those the checkpointed run was following
        return (f"{path} was written by {was} processes and this run has {world_size}: its "
                f"{n_images} training images do not split evenly over {uneven[0]} processes, so the "
                f"batches would differ from the run it continues; resume with {was} processes in all "
                "(torchrun --nnodes x --nproc_per_node), or start another --name")
    return None
