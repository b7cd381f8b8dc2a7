"""Latent-space geometry: paths between codes, grids and traversals, prior samples.

Pure tensor math on (N, latent_dim) codes; nothing here decodes, renders or knows about HTTP.
"""

from __future__ import annotations

from typing import Literal

import torch

Method = Literal["linear", "slerp"]
Range = tuple[int, float, float]  # (dimension, start, stop)


def lerp(a: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
    """`steps` evenly spaced codes on the segment a -> b, both ends included: (steps, D)."""
    t = torch.linspace(0, 1, steps, dtype=a.dtype).unsqueeze(1)  # (steps, 1)
    return a + t * (b - a)


def slerp(a: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
    """Spherical interpolation: the angle between a and b is swept at constant speed, and the norm
    goes linearly from |a| to |b|. Under a Gaussian prior the norm of a code concentrates near
    sqrt(D), and a straight line between two typical codes dips towards the origin, where codes are
    atypical; slerp stays on the shell (White, "Sampling Generative Networks", 2016).
    Falls back to `lerp` when either end is the origin or the two are (anti)parallel.
    """
    na, nb = a.norm(), b.norm()
    if na < 1e-8 or nb < 1e-8:
        return lerp(a, b, steps)
    cos = torch.clamp((a @ b) / (na * nb), -1.0, 1.0)
    omega = torch.arccos(cos)
    sin = torch.sin(omega)
    if sin < 1e-6:
        return lerp(a, b, steps)
    t = torch.linspace(0, 1, steps, dtype=a.dtype).unsqueeze(1)  # (steps, 1)
    ua, ub = a / na, b / nb
    direction = (torch.sin((1 - t) * omega) * ua + torch.sin(t * omega) * ub) / sin  # unit vectors
    return direction * (na + t * (nb - na))


def interpolate(a: torch.Tensor, b: torch.Tensor, steps: int, method: Method = "linear") -> torch.Tensor:
    return slerp(a, b, steps) if method == "slerp" else lerp(a, b, steps)


def there_and_back(path: torch.Tensor) -> torch.Tensor:
    """a..b then back to just after a, so that a looping animation never shows an end twice."""
    return torch.cat([path, path.flip(0)[1:-1]])


def grid(base: torch.Tensor, ranges: list[Range], steps: int) -> torch.Tensor:
    """Codes for a 1-D row (one range) or a 2-D grid (two ranges), row-major: the first range varies
    along a row (x), the second down the columns (y). Every other dimension is held at `base`.
    Returns (steps, D) or (steps * steps, D).
    """
    assert 1 <= len(ranges) <= 2, f"need one or two ranges, got {len(ranges)}"
    (dx, x0, x1), *rest = ranges
    xs = torch.linspace(x0, x1, steps, dtype=base.dtype)
    if not rest:
        z = base.repeat(steps, 1)
        z[:, dx] = xs
        return z
    dy, y0, y1 = rest[0]
    assert dx != dy, f"the two ranges must be on different dimensions, both are {dx}"
    ys = torch.linspace(y0, y1, steps, dtype=base.dtype)
    z = base.repeat(steps * steps, 1)
    z[:, dx] = xs.repeat(steps)  # x cycles fastest: row-major
    z[:, dy] = ys.repeat_interleave(steps)
    return z


def traverse(base: torch.Tensor, span: float, steps: int) -> torch.Tensor:
    """One row per latent dimension, sweeping it over base[k] - span .. base[k] + span while the
    others stay at `base`: (D * steps, D), row-major."""
    d = base.shape[0]
    offsets = torch.linspace(-span, span, steps, dtype=base.dtype)
    z = base.repeat(d * steps, 1)  # (D * steps, D)
    rows = torch.arange(d).repeat_interleave(steps)
    z[torch.arange(d * steps), rows] += offsets.repeat(d)
    return z


def sample_prior(n: int, latent_dim: int, *, seed: int, temperature: float = 1.0) -> torch.Tensor:
    """n draws from N(0, t^2 I); the same seed gives the same codes on every machine (CPU RNG)."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, latent_dim, generator=gen) * temperature
