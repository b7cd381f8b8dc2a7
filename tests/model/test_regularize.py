"""The regularizers: random shifts move images without wrapping, the KL weight ramps to 1."""

from __future__ import annotations

import pytest
import torch

from model.regularize import kl_weight, random_shifts, shift_images


def test_a_shift_moves_each_image_by_its_own_offset_and_fills_with_black() -> None:
    x = torch.rand(3, 2, 5, 6)
    out = shift_images(x, torch.tensor([0, 1, -2]), torch.tensor([0, -1, 3]))
    assert out.shape == x.shape
    assert torch.equal(out[0], x[0])
    assert torch.equal(out[1, :, 1:, :-1], x[1, :, :-1, 1:])  # down 1, left 1
    assert out[1, :, 0].abs().sum() == 0 and out[1, :, :, -1].abs().sum() == 0
    assert torch.equal(out[2, :, :-2, 3:], x[2, :, 2:, :-3])  # up 2, right 3
    assert out[2, :, -2:].abs().sum() == 0 and out[2, :, :, :3].abs().sum() == 0


def test_random_shifts_stay_within_the_bound_and_cover_it() -> None:
    g = torch.Generator().manual_seed(0)
    dy, dx = random_shifts(4000, 2, g, torch.device("cpu"))
    for d in (dy, dx):
        assert set(d.tolist()) == {-2, -1, 0, 1, 2}


def test_random_shifts_repeat_for_a_seeded_generator() -> None:
    a = random_shifts(10, 1, torch.Generator().manual_seed(5), torch.device("cpu"))
    b = random_shifts(10, 1, torch.Generator().manual_seed(5), torch.device("cpu"))
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))


def test_the_kl_weight_rises_linearly_then_stays_at_one() -> None:
    assert kl_weight(0, 0) == kl_weight(10**6, 0) == 1.0
    assert kl_weight(0, 100) == pytest.approx(0.01)
    assert kl_weight(49, 100) == pytest.approx(0.5)
    assert kl_weight(99, 100) == kl_weight(5000, 100) == 1.0
