"""Who a process is: one process without torchrun's variables, its rank and restarts with them."""

from __future__ import annotations

import torch

from model.distributed import World, all_sum, from_main, world_from_env


def test_without_torchrun_there_is_one_process() -> None:
    world = world_from_env({})
    assert world == World() and world.main and world.size == 1 and not world.launched


def test_torchrun_variables_give_rank_size_and_restarts() -> None:
    env = {"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "TORCHELASTIC_RESTART_COUNT": "2"}
    world = world_from_env(env)
    assert (world.rank, world.size, world.local_rank, world.restarts) == (3, 4, 1, 2)
    assert world.launched and not world.main


def test_collectives_are_the_identity_in_one_process() -> None:
    assert all_sum([1.5, 2.0], torch.device("cpu")) == [1.5, 2.0]
    assert from_main({"step": 7}) == {"step": 7}
