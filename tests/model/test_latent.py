"""model/latent.py: paths, grids and traversals in latent space, and prior samples."""

from __future__ import annotations

import pytest
import torch

from model import latent


def test_lerp_includes_both_ends_evenly_spaced() -> None:
    a, b = torch.tensor([0.0, 2.0]), torch.tensor([4.0, -2.0])
    path = latent.lerp(a, b, 5)
    assert path.shape == (5, 2)
    assert torch.equal(path[0], a) and torch.equal(path[-1], b)
    assert torch.allclose(path[1:] - path[:-1], (b - a) / 4)


def test_slerp_keeps_the_ends_and_interpolates_the_norm() -> None:
    a, b = torch.tensor([3.0, 0.0, 0.0]), torch.tensor([0.0, 5.0, 0.0])
    path = latent.slerp(a, b, 9)
    assert torch.allclose(path[0], a) and torch.allclose(path[-1], b, atol=1e-6)
    assert torch.allclose(path.norm(dim=1), torch.linspace(3, 5, 9), atol=1e-5)
    cos = torch.nn.functional.cosine_similarity(path[:-1], path[1:])
    assert torch.allclose(cos, cos[0].expand_as(cos), atol=1e-5)  # constant angular speed


def test_slerp_stays_off_the_origin_where_lerp_crosses_it() -> None:
    a = torch.tensor([2.0, 0.1])
    assert latent.lerp(a, -a, 11).norm(dim=1).min() < 0.5
    # antiparallel ends have no unique great circle: slerp falls back to the straight line
    assert torch.allclose(latent.slerp(a, -a, 11), latent.lerp(a, -a, 11))
    b = torch.tensor([0.1, 2.0])
    assert latent.slerp(a, b, 11).norm(dim=1).min() > 1.9


@pytest.mark.parametrize("method", ["linear", "slerp"])
def test_interpolate_from_the_origin_is_finite(method: latent.Method) -> None:
    path = latent.interpolate(torch.zeros(3), torch.ones(3), 4, method)
    assert torch.isfinite(path).all() and torch.allclose(path[-1], torch.ones(3))


def test_there_and_back_does_not_repeat_the_ends() -> None:
    path = torch.arange(4.0).unsqueeze(1)
    assert latent.there_and_back(path).squeeze(1).tolist() == [0, 1, 2, 3, 2, 1]


def test_grid_is_row_major_with_the_first_range_along_x() -> None:
    base = torch.tensor([7.0, 7.0, 7.0])
    z = latent.grid(base, [(2, -1.0, 1.0), (0, 10.0, 20.0)], 3)
    assert z.shape == (9, 3)
    assert z[:3, 2].tolist() == [-1, 0, 1] and z[:3, 0].tolist() == [10, 10, 10]
    assert z[3:6, 0].tolist() == [15, 15, 15]
    assert (z[:, 1] == 7).all()


def test_grid_with_one_range_is_a_row() -> None:
    z = latent.grid(torch.zeros(2), [(1, 3.0, -3.0)], 4)
    assert z[:, 1].tolist() == [3, 1, -1, -3] and (z[:, 0] == 0).all()


def test_traverse_sweeps_one_dimension_per_row_around_base() -> None:
    base = torch.tensor([1.0, -1.0, 0.5])
    z = latent.traverse(base, 2.0, 5).view(3, 5, 3)  # (row, step, dim)
    for k in range(3):
        assert torch.allclose(z[k, :, k], base[k] + torch.linspace(-2, 2, 5))
        others = [d for d in range(3) if d != k]
        assert (z[k][:, others] == base[others]).all()


def test_sample_prior_is_reproducible_and_scaled_by_temperature() -> None:
    a = latent.sample_prior(4096, 2, seed=7, temperature=0.5)
    assert torch.equal(a, latent.sample_prior(4096, 2, seed=7, temperature=0.5))
    assert not torch.equal(a, latent.sample_prior(4096, 2, seed=8, temperature=0.5))
    assert a.std().item() == pytest.approx(0.5, rel=0.05)
    assert (latent.sample_prior(3, 2, seed=1, temperature=0) == 0).all()
