"""Running under torchrun: which process this is, the process group, and the collectives training uses.

torchrun starts one process per device and tells each who it is through the environment (RANK,
LOCAL_RANK, WORLD_SIZE; TORCHELASTIC_RESTART_COUNT once it has restarted a failed group). Without
those variables training runs in one process and nothing here touches torch.distributed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int = 0  # this process, 0 .. size - 1; rank 0 alone prints, checkpoints and writes the weights
    size: int = 1
    local_rank: int = 0  # this process on its machine: which GPU it drives
    restarts: int = 0  # how many times torchrun has restarted the group (after a failed process)
    launched: bool = False  # started by torchrun: a process group joins the processes

    @property
    def main(self) -> bool:
        return self.rank == 0


def world_from_env(env: dict[str, str] | None = None) -> World:
    """This process's place in the job, read from what torchrun sets; one process without it."""
    env = dict(os.environ if env is None else env)
    if "RANK" not in env or "WORLD_SIZE" not in env:
        return World()
    return World(rank=int(env["RANK"]), size=int(env["WORLD_SIZE"]), local_rank=int(env.get("LOCAL_RANK", 0)),
                 restarts=int(env.get("TORCHELASTIC_RESTART_COUNT", 0)), launched=True)


def rendezvous_store(world: World) -> dist.Store:
    """The key-value store the processes meet in, at MASTER_ADDR:MASTER_PORT as torchrun says, with
    its keys under this attempt's prefix. torchrun keeps one store across the restarts of a group, and
    without the prefix a restarted process can read the address a killed one published and fail to
    connect to it (gloo: "connectFullMesh failed ... Connection refused")."""
    agent_hosts_it = os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True"
    base = dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), world.size,
                         is_master=world.main and not agent_hosts_it, timeout=timedelta(minutes=10))
    return dist.PrefixStore(f"model.train/attempt_{world.restarts}", base)


def join(world: World, device: torch.device) -> torch.device:
    """Join the process group (nccl on CUDA, gloo on CPU); returns the device this process uses:
    on CUDA, the GPU numbered LOCAL_RANK, so that the processes of one machine share out its GPUs."""
    if not world.launched:
        return device
    store = rendezvous_store(world)
    if device.type == "cuda":
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", store=store, rank=world.rank, world_size=world.size, device_id=device)
    else:
        dist.init_process_group("gloo", store=store, rank=world.rank, world_size=world.size)
    return device


def barrier() -> None:
    """Wait until every process gets here (nothing to wait for in one process). Processes that
    tear the group down while another still works on it can abort in gloo's teardown."""
    if dist.is_initialized():
        dist.barrier()


def leave() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def all_sum(values: list[float], device: torch.device) -> list[float]:
    """Element-wise sums over all processes (in float64); the values themselves in one process."""
    if not dist.is_initialized():
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return [float(v) for v in t.tolist()]


def from_main(obj: Any) -> Any:
    """Rank 0's `obj` in every process (pickled through the process group; for small objects such
    as a checkpoint that only rank 0 can read)."""
    if not dist.is_initialized():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]
