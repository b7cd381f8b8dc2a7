"""Which checkpoints a run may continue: the same network, options and batches, or a clear refusal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from model import checkpoint
from model.vae import VAE, VAEConfig

PATH = Path("checkpoints/tiny/last.pt")
CONFIG = VAEConfig(latent_dim=3, hidden=(32,)).to_dict()
SCHEDULE = {"epochs": 2, "batch_size": 20, "lr": 1e-3, "seed": 0, "binarize": False, "iw_train": 0,
            "limit": 0}


def state(world_size: int = 1, **changes: Any) -> dict[str, Any]:
    return {"config": CONFIG, "schedule": {**SCHEDULE, **changes}, "world_size": world_size}


def test_the_same_run_continues() -> None:
    assert checkpoint.refusal(PATH, state(2), CONFIG, SCHEDULE, world_size=2, n_images=1999) is None


def test_another_world_size_continues_when_the_images_split_evenly_over_both() -> None:
    assert checkpoint.refusal(PATH, state(2), CONFIG, SCHEDULE, world_size=4, n_images=2000) is None
    assert checkpoint.refusal(PATH, state(1), CONFIG, SCHEDULE, world_size=2, n_images=2000) is None


def test_another_world_size_is_refused_when_padding_would_change_the_batches() -> None:
    message = checkpoint.refusal(PATH, state(1), CONFIG, SCHEDULE, world_size=2, n_images=1999)
    assert message is not None
    assert "written by 1 processes and this run has 2" in message and "1999 training images" in message


def test_another_network_is_refused() -> None:
    other = VAEConfig(latent_dim=4, hidden=(32,)).to_dict()
    message = checkpoint.refusal(PATH, state(), other, SCHEDULE, world_size=1, n_images=10)
    assert message is not None and "config" in message


def test_another_iw_train_is_refused_by_name() -> None:
    changed = {**SCHEDULE, "iw_train": 5}
    message = checkpoint.refusal(PATH, state(), CONFIG, changed, world_size=1, n_images=10)
    assert message is not None and "--iw-train 0 (now 5)" in message


def test_capture_and_restore_bring_back_weights_optimizer_schedule_and_rng() -> None:
    def parts(seed: int) -> tuple[VAE, torch.optim.Adam, torch.optim.lr_scheduler.LambdaLR]:
        torch.manual_seed(seed)
        vae = VAE(VAEConfig(latent_dim=3, hidden=(32,)))
        opt = torch.optim.Adam(vae.parameters(), lr=1e-3)
        return vae, opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1 / (step + 1))

    vae, opt, sched = parts(0)
    vae(torch.rand(4, 1, 28, 28))[0].sum().backward()
    opt.step()
    sched.step()
    saved = checkpoint.capture(vae, opt, sched, torch.device("cpu"))
    expected = torch.rand(3)
    other, other_opt, other_sched = parts(1)
    checkpoint.restore(saved, other, other_opt, other_sched, torch.device("cpu"))
    assert all(torch.equal(a, b) for a, b in zip(vae.state_dict().values(), other.state_dict().values(),
                                                  strict=True))
    assert other_sched.last_epoch == 1
    assert torch.equal(other_opt.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
    assert torch.equal(torch.rand(3), expected)  # the RNG continues where it was captured
