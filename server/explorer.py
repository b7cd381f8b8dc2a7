"""What the explorer page shows, as plain data: the model's card, the slider z, the grid and the
traversal around it, an upload's reconstruction.

`server/routes/pages.py` parses requests into these and the templates render them; nothing here
writes HTML. The page's own constants (slider range and step, view defaults) are in `VIEW`. Bad input
raises `HTTPException(4xx)` with a readable detail, as `server.schemas` does.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import torch

from model import latent
from model.vae import VAE
from server import render
from server.schemas import invalid, parse_vector

DATASETS = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}


@dataclass(frozen=True)
class ViewDefaults:
    bound: float = 3.0  # sliders and the default grid run over [-bound, bound]
    decimals: int = 2  # slider step 0.01: 600 positions over [-3, 3] feel continuous
    grid_steps: int = 15
    traverse_span: float = 3.0
    traverse_steps: int = 9
    temperature: float = 1.0
    temperature_max: float = 2.0
    inactive_kl: float = 0.05  # nats: a dimension whose average KL is below this carries no information
    interpolate_steps: int = 10

    @property
    def step(self) -> float:
        return 10.0**-self.decimals


VIEW = ViewDefaults()


def snap(value: float) -> float:
    """Clamp to the slider range and round to its step, so that sliders, URL and image agree."""
    return round(min(max(value, -VIEW.bound), VIEW.bound), VIEW.decimals) + 0.0  # + 0.0: no -0.0


def fmt(value: float) -> str:
    """The shortest text for a snapped value ("0", "-1.5", "2.37"), as a range input writes it."""
    return f"{value:.{VIEW.decimals}f}".rstrip("0").rstrip(".") if value else "0"


def csv(z: list[float]) -> str:
    return ",".join(fmt(v) for v in z)


def parse_z(text: str, dim: int, bound: float) -> list[float]:
    """`0.5,-1.2,...` (the page URL's `z`): exactly `dim` numbers, snapped onto the sliders."""
    return [snap(v) for v in parse_vector(text, dim=dim, bound=bound).tolist()]


def slider_z(query: Mapping[str, str], dim: int, bound: float) -> list[float]:
    """The slider form's fields `z0` .. `z{dim-1}`; a missing one is 0."""
    return parse_z(",".join(query.get(f"z{i}", "0") for i in range(dim)), dim, bound)


def set_sliders(action: str, temperature: str | None, dim: int) -> list[float]:
    """`reset`: zeros. `sample`: a fresh draw from the prior N(0, t^2 I), snapped onto the sliders."""
    if action == "reset":
        return [0.0] * dim
    if action != "sample":
        raise invalid(f"action is {action!r}; expected sample or reset")
    t = _number("temperature", temperature or str(VIEW.temperature))
    if not 0 <= t <= VIEW.temperature_max:
        raise invalid(f"temperature is {t:g}; expected 0 <= temperature <= {VIEW.temperature_max:g}")
    draw = latent.sample_prior(1, dim, seed=secrets.randbits(63), temperature=t)
    return [snap(v) for v in draw[0].tolist()]


def _number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise invalid(f"{name} is {text!r}; expected a number") from None
    if not math.isfinite(value):
        raise invalid(f"{name} is {text!r}; expected a finite number")
    return value


def _int(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise invalid(f"{name} is {text!r}; expected a whole number") from None


@torch.inference_mode()
def decode_url(vae: VAE, z: list[float]) -> str:
    """The decoded image for one z at native size, as a PNG data URL (the page upscales it)."""
    images = vae.decode(torch.tensor([z], dtype=torch.float32, device=vae.device))
    return render.data_url(render.image_png(images))


@dataclass(frozen=True)
class Upload:
    input_url: str
    reconstruction_url: str


@torch.inference_mode()
def reconstruct(vae: VAE, x: torch.Tensor) -> tuple[Upload, list[float]]:
    """A preprocessed upload (1, 1, H, W) -> both images, and its latent mean snapped onto the sliders."""
    mean, _, recon = vae.reconstruct(x)
    urls = [render.data_url(render.image_png(images)) for images in (x, recon)]
    return Upload(*urls), [snap(v) for v in mean[0].tolist()]


@dataclass(frozen=True)
class Grid:
    """Two latent dimensions over [lo, hi] each, in `steps` x `steps` cells: x right, y downward."""

    x: int = 0
    y: int = 1
    lo: float = -VIEW.bound
    hi: float = VIEW.bound
    steps: int = VIEW.grid_steps

    def url(self, model: str, z: list[float]) -> str:
        # The grid's own two dimensions do not change its picture: zero them in `base`, so the URL
        # (and the browser's cached image) stays the same while those two sliders move.
        base = [0.0 if i in (self.x, self.y) else v for i, v in enumerate(z)]
        span = f"{fmt(self.lo)}..{fmt(self.hi)}"
        query = {"model": model, f"z{self.x}": span, f"z{self.y}": span, "steps": self.steps}
        return "/grid?" + urlencode({**query, "base": csv(base)})

    def marker(self, z: list[float]) -> tuple[float, float] | None:
        """Where z falls on the picture, in percent of its width and height; None when outside."""
        # cell k shows lo + k (hi - lo) / (steps - 1) and covers [k, k + 1] / steps of the picture
        cells = [(z[d] - self.lo) / (self.hi - self.lo) * (self.steps - 1) for d in (self.x, self.y)]
        at = [(c + 0.5) / self.steps for c in cells]
        return (100 * at[0], 100 * at[1]) if all(0 <= a <= 1 for a in at) else None


def default_grid(dim: int) -> Grid | None:
    return Grid() if dim >= 2 else None


def parse_grid(query: Mapping[str, str], dim: int, *, max_steps: int, bound: float) -> Grid:
    """The grid form's `gx`, `gy`, `lo`, `hi` and `steps`."""
    d = Grid()
    grid = Grid(
        x=_int("the x dimension", query.get("gx", str(d.x))),
        y=_int("the y dimension", query.get("gy", str(d.y))),
        lo=_number("the range start", query.get("lo", str(d.lo))),
        hi=_number("the range end", query.get("hi", str(d.hi))),
        steps=_int("steps", query.get("steps", str(d.steps))),
    )
    if dim < 2:
        raise invalid("the grid needs a model with at least two latent dimensions")
    if not (0 <= grid.x < dim and 0 <= grid.y < dim):
        raise invalid(f"grid dimensions are z{grid.x} and z{grid.y}; expected z0 .. z{dim - 1}")
    if grid.x == grid.y:
        raise invalid(f"both grid axes are z{grid.x}; pick two different dimensions")
    if not 2 <= grid.steps <= max_steps:
        raise invalid(f"steps is {grid.steps}; expected 2 .. {max_steps}")
    if grid.lo == grid.hi or max(abs(grid.lo), abs(grid.hi)) > bound:
        raise invalid(f"the range is {grid.lo:g} .. {grid.hi:g}; expected distinct ends within ±{bound:g}")
    return grid


def traverse_url(model: str, z: list[float]) -> str:
    query = {"model": model, "base": csv(z), "span": fmt(VIEW.traverse_span), "steps": VIEW.traverse_steps}
    return "/traverse?" + urlencode(query)


def dataset_label(card: dict[str, Any]) -> str:
    dataset = card.get("dataset") or "unknown data"
    return DATASETS.get(dataset, dataset)


def model_label(card: dict[str, Any]) -> str:
    """'MNIST, z=2' for the model picker."""
    return f"{dataset_label(card)}, z={card['config']['latent_dim']}"


@dataclass(frozen=True)
class Explorer:
    """Everything `partials/explorer.html` and its parts show for one model at one z."""

    name: str
    card: dict[str, Any]
    z: list[float]
    grid: Grid | None = None
    upload: Upload | None = None

    @classmethod
    def of(cls, name: str, vae: VAE, z: list[float], **kw: Any) -> Explorer:
        return cls(name=name, card=vae.card, z=z, **kw)  # type: ignore[arg-type]

    @property
    def kl(self) -> list[float | None]:
        """Each dimension's average KL on the test set, when the card has it: which sliders matter."""
        kl = self.card.get("metrics", {}).get("kl_per_dim") or []
        return [kl[i] if i < len(kl) else None for i in range(len(self.z))]
