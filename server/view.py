"""The view's shared values and geometry: the defaults that the API's parameters and the page both
read (span, steps, temperature), slider snapping, the grid's picture and marker, labels.

One source of truth: `VIEW.bound` is the page's one z range (the sliders, the grid's range fields,
the URL's `z` and the latent map's view), the default grid's range and the default span of `/grid` and
`/traverse`; `VIEW.grid_steps` is both the page's grid and `/grid`'s default. A value typed beyond
the range is refused; a point that lands beyond it (a sample, an upload's mean) is held at the edge
and `beyond_notice` says so.
Nothing here parses a request (server.schemas does) or writes HTML (templates/ do).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import urlencode

from model.card import ModelCard
from model.data import TITLES


@dataclass(frozen=True)
class ViewDefaults:
    bound: float = 3.0  # sliders and the default grid run over [-bound, bound]: ±3 prior std devs
    decimals: int = 2  # slider step 0.01: 600 positions over [-3, 3] feel continuous
    key_step: float = 0.1  # an arrow key moves a slider this far: a change the image shows
    coarse_step: float = 0.5  # Shift + an arrow key
    grid_steps: int = 15
    traverse_span: float = 3.0
    traverse_steps: int = 9
    temperature: float = 1.0
    temperature_max: float = 2.0  # the page's temperature slider; the API allows up to Settings'
    inactive_kl: float = 0.05  # nats: a dimension whose average KL is below this carries no information
    interpolate_steps: int = 10
    frame_ms: int = 100  # one frame of an animation: the page's player and every GIF
    export_scale: int = 8  # the page's GIFs and saved PNGs: 28 px images at 8x are 224 px
    samples: int = 16

    @property
    def step(self) -> float:
        return 10.0**-self.decimals


VIEW = ViewDefaults()


def snap(value: float) -> float:
    """Clamp to the slider range and round to its step, so that sliders, URL and image agree."""
    return round(min(max(value, -VIEW.bound), VIEW.bound), VIEW.decimals) + 0.0  # + 0.0: no -0.0


def beyond_notice(values: list[float], source: str) -> str | None:
    """What `source` ("Sampled at temperature 2") should be told when some of `values` lie beyond the
    sliders' range and will be shown at its edge; None when all are within. static/app.js words a map
    point or a drawing that lands beyond the range the same way."""
    out = [(i, v) for i, v in enumerate(values) if abs(v) > VIEW.bound]
    if not out:
        return None
    listed = ", ".join(f"z{i} = {v:.2f}" for i, v in out[:4])
    listed += f" and {len(out) - 4} more" if len(out) > 4 else ""
    verb, them = ("lies", "it is") if len(out) == 1 else ("lie", "they are")
    return f"{source}: {listed} {verb} beyond the sliders' range ±{VIEW.bound:g}; {them} shown at the edge."


def fmt(value: float) -> str:
    """The shortest text for a snapped value ("0", "-1.5", "2.37"), as a range input writes it."""
    return f"{value:.{VIEW.decimals}f}".rstrip("0").rstrip(".") if value else "0"


def nice_ticks(lo: float, hi: float, most: int = 7) -> list[float]:
    """Round values (steps of 1, 2 or 5 times a power of ten) within [lo, hi], at most `most` of them:
    the numbers on the grid's axes and the training curve's."""
    lo, hi = min(lo, hi), max(lo, hi)
    span = hi - lo or 1.0
    power = 10.0 ** math.floor(math.log10(span / most))
    step = next(m * power for m in (1, 2, 5, 10) if span / (m * power) <= most - 1)
    first = math.ceil(lo / step - 1e-9)
    return [round(k * step, 10) + 0.0 for k in range(first, math.floor(hi / step + 1e-9) + 1)]


def csv(z: list[float]) -> str:
    return ",".join(fmt(v) for v in z)


@dataclass(frozen=True)
class Grid:
    """Two latent dimensions over [lo, hi] each, in `steps` x `steps` cells: x right, y downward."""

    x: int = 0
    y: int = 1
    lo: float = -VIEW.bound
    hi: float = VIEW.bound
    steps: int = VIEW.grid_steps

    def problem(self, dim: int, *, max_steps: int, bound: float) -> str | None:
        """Why this grid cannot be drawn for a `dim`-dimensional model, or None when it can."""
        if dim < 2:
            return "the grid needs a model with at least two latent dimensions"
        if not (0 <= self.x < dim and 0 <= self.y < dim):
            return f"grid dimensions are z{self.x} and z{self.y}; expected z0 .. z{dim - 1}"
        if self.x == self.y:
            return f"both grid axes are z{self.x}; pick two different dimensions"
        if not 2 <= self.steps <= max_steps:
            return f"steps is {self.steps}; expected 2 .. {max_steps}"
        if self.lo == self.hi or max(abs(self.lo), abs(self.hi)) > bound:
            return f"the range is {self.lo:g} .. {self.hi:g}; expected distinct ends within ±{bound:g}"
        return None

    def url(self, model: str, z: list[float]) -> str:
        # The grid's own two dimensions do not change its picture: zero them in `base`, so the URL
        # (and the browser's cached image) stays the same while those two sliders move.
        base = [0.0 if i in (self.x, self.y) else v for i, v in enumerate(z)]
        span = f"{fmt(self.lo)}..{fmt(self.hi)}"
        query = {"model": model, f"z{self.x}": span, f"z{self.y}": span, "steps": self.steps}
        return "/grid?" + urlencode({**query, "base": csv(base)})

    def at(self, value: float) -> float:
        """Where `value` falls along either axis of the picture, in percent (cell centres, as `marker`)."""
        return 100 * ((value - self.lo) / (self.hi - self.lo) * (self.steps - 1) + 0.5) / self.steps

    def ticks(self) -> list[tuple[float, str]]:
        """Round numbers along the axes, as (percent along the picture, label); the same both ways."""
        return [(self.at(v), fmt(v)) for v in nice_ticks(self.lo, self.hi)]

    def marker(self, z: list[float]) -> tuple[float, float] | None:
        """Where z falls on the picture, in percent of its width and height; None when outside."""
        # cell k shows lo + k (hi - lo) / (steps - 1) and covers [k, k + 1] / steps of the picture
        cells = [(z[d] - self.lo) / (self.hi - self.lo) * (self.steps - 1) for d in (self.x, self.y)]
        at = [(c + 0.5) / self.steps for c in cells]
        return (100 * at[0], 100 * at[1]) if all(0 <= a <= 1 for a in at) else None


def default_grid(dim: int) -> Grid | None:
    return Grid() if dim >= 2 else None


def traverse_url(model: str, z: list[float]) -> str:
    query = {"model": model, "base": csv(z), "span": fmt(VIEW.traverse_span), "steps": VIEW.traverse_steps}
    return "/traverse?" + urlencode(query)


def traverse_offsets() -> list[tuple[float, str]]:
    """The traversal's columns, offsets from each row's current value: (percent along, "+1.5")."""
    columns = Grid(lo=-VIEW.traverse_span, hi=VIEW.traverse_span, steps=VIEW.traverse_steps)
    return [(pos, ("+" if label[0] not in "-0" else "") + label) for pos, label in columns.ticks()]


def dataset_label(card: ModelCard) -> str:
    dataset = card.dataset or "unknown data"
    return TITLES.get(dataset, dataset)


def model_label(card: ModelCard) -> str:
    """'MNIST, z=2' for the model picker."""
    return f"{dataset_label(card)}, z={card.latent_dim}"
