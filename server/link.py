"""What the page's URL holds beyond `model` and `z`, read back into the view: the grid (`gx`, `gy`,
`lo`, `hi`, `steps`), the sampling temperature (`t`) and the interpolation (`from`, `to`, `method`).
static/link.js writes these parameters; the latent map keeps its own (`map`, `plane`, ...).

Like a bad `z`, a bad parameter is not refused: the page opens with the default for that part, and
a notice says what was wrong. Nothing here writes HTML.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal, cast

from fastapi import HTTPException

from model import latent
from server.schemas import parse_z
from server.view import VIEW, Grid, default_grid, snap

METHODS = ("linear", "slerp")
GRID_KEYS = {"gx": "x", "gy": "y", "lo": "lo", "hi": "hi", "steps": "steps"}


@dataclass(frozen=True)
class Interpolation:
    """The interpolation's endpoints (None: the panel's defaults) and method."""

    start: list[float] | None = None
    end: list[float] | None = None
    method: Literal["linear", "slerp"] = "linear"


@dataclass(frozen=True)
class Link:
    grid: Grid | None
    temperature: float = VIEW.temperature
    path: Interpolation = Interpolation()


def _grid(query: Mapping[str, str], dim: int, max_steps: int, notices: list[str]) -> Grid | None:
    grid = default_grid(dim)
    given = {field: query[key] for key, field in GRID_KEYS.items() if key in query}
    if grid is None or not given:
        return grid
    try:
        x, y, steps = (int(given.get(f, getattr(grid, f))) for f in ("x", "y", "steps"))
        lo, hi = (float(given.get(f, getattr(grid, f))) for f in ("lo", "hi"))
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError("not finite")
    except ValueError:
        listed = ", ".join(f"{k}={query[k]}" for k in GRID_KEYS if k in query)
        notices.append(f"The link's grid ({listed}) is not all numbers. Showing the default grid.")
        return grid
    asked = replace(grid, x=x, y=y, lo=lo, hi=hi, steps=steps)
    if problem := asked.problem(dim, max_steps=max_steps, bound=VIEW.bound):
        notices.append(f"The link's grid: {problem}. Showing the default grid.")
        return grid
    return asked


def _temperature(text: str | None, notices: list[str]) -> float:
    if text is None:
        return VIEW.temperature
    try:
        t = float(text)
    except ValueError:
        t = math.nan
    if not 0 <= t <= VIEW.temperature_max:  # nan fails here too
        notices.append(f"t is {text!r}; expected a temperature 0 .. {VIEW.temperature_max:g}. Using 1.")
        return VIEW.temperature
    return round(t, 1)


def _end(query: Mapping[str, str], key: str, dim: int, notices: list[str]) -> list[float] | None:
    if key not in query:
        return None
    try:
        return parse_z(query[key], dim=dim)
    except HTTPException as e:
        notices.append(f"The interpolation's {key}: {e.detail}. Using the default endpoint.")
        return None


def read_link(query: Mapping[str, str], *, dim: int, max_steps: int) -> tuple[Link, list[str]]:
    """The grid, temperature and interpolation a page URL asks for, and notices for what it got wrong."""
    notices: list[str] = []
    method = query.get("method", "linear")
    if method not in METHODS:
        notices.append(f"method is {method!r}; expected linear or slerp. Using linear.")
        method = "linear"
    path = Interpolation(_end(query, "from", dim, notices), _end(query, "to", dim, notices),
                cast(Literal["linear", "slerp"], method))
    link = Link(_grid(query, dim, max_steps, notices), _temperature(query.get("t"), notices), path)
    return link, notices


SEEDS = {"from": 1, "to": 2}  # the default endpoints: two fixed draws from the prior


def path_ends(path: Interpolation, latent_dim: int) -> list[tuple[str, list[float], str, bool]]:
    """The interpolation's two endpoints as (name, z, words for it, whether it is the default): the
    link's, or two fixed draws from the prior, typical images of the model that a user can name."""
    ends = []
    for name, given in (("from", path.start), ("to", path.end)):
        if given is not None:
            ends.append((name, given, "from the link", False))
        else:
            draw = latent.sample_prior(1, latent_dim, seed=SEEDS[name])[0].tolist()
            words = f"a draw from the prior N(0, I), seed {SEEDS[name]}"
            ends.append((name, [snap(v) for v in draw], words, True))
    return ends
