"""What the model-insight panel and the latent map's legend show, read from the model's card alone.

The card's metrics (weights/<name>.json) may lack any of these fields, for example a placeholder model
or one trained by an older script: each function then answers None and the template leaves its chart
out.
Nothing here writes HTML; `templates/partials/insight.html` draws the charts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from model.card import ModelCard
from server.view import VIEW, nice_ticks

CURVE_BOX = (320, 120)  # the training curve's SVG viewBox, width x height


@dataclass(frozen=True)
class Bar:
    """One latent dimension's average KL on the test set, and its bar's length relative to the longest."""

    dim: int
    kl: float
    share: float  # 0 .. 1
    inactive: bool  # below VIEW.inactive_kl: the encoder ignores the input along this dimension


@dataclass(frozen=True)
class Curve:
    """The training curve as SVG polylines in a `width` x `height` box, y downward, over [lo, hi] nats,
    with round numbers on both axes as (percent along the axis, label): y from the top, x from the left."""

    train: str  # "x,y x,y ..." per epoch
    test: str
    epochs: int
    lo: float
    hi: float
    first: tuple[float, float]  # (train, test) after the first epoch
    last: tuple[float, float]  # and after the last
    yticks: list[tuple[float, str]]
    xticks: list[tuple[float, str]]
    width: int = CURVE_BOX[0]
    height: int = CURVE_BOX[1]

    @property
    def clipped(self) -> bool:
        """Whether the first epoch lies above the chart (it is drawn off the top, and said so)."""
        return max(self.first) > self.hi


def _numbers(values: Any) -> list[float] | None:
    """`values` as floats when it is a non-empty list of finite numbers, else None."""
    if not isinstance(values, list) or not values:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values):
        return None
    return [float(v) for v in values]


def kl_bars(card: ModelCard) -> list[Bar] | None:
    """One bar per latent dimension from `metrics.kl_per_dim`; None when the card has no such list."""
    kl = _numbers(card.metrics.get("kl_per_dim"))
    if kl is None:
        return None
    top = max(max(kl), 1e-12)
    return [Bar(i, v, share=max(v, 0.0) / top, inactive=v < VIEW.inactive_kl) for i, v in enumerate(kl)]


def training_curve(card: ModelCard) -> Curve | None:
    """`metrics.history.train` and `.test` (negative ELBO per epoch); None unless both have 2+ epochs.

    The first epoch's loss is often far above the rest (230 then 166 nats), which would flatten the
    curve that matters into a line: the y range starts at the second epoch and the first point is
    drawn off the top, clipped.
    """
    history = card.metrics.get("history")
    if not isinstance(history, dict):
        return None
    train, test = _numbers(history.get("train")), _numbers(history.get("test"))
    if train is None or test is None or len(train) != len(test) or len(train) < 2:
        return None
    later = train[1:] + test[1:] if len(train) > 2 else train + test
    lo, hi = min(train + test), max(later)
    pad = (hi - lo) * 0.05 or 1.0
    lo, hi = lo - pad, hi + pad
    width, height = CURVE_BOX

    def points(values: list[float]) -> str:
        n = len(values) - 1
        return " ".join(
            f"{k / n * width:.1f},{(hi - v) / (hi - lo) * height:.1f}" for k, v in enumerate(values)
        )

    yticks = [(100 * (hi - v) / (hi - lo), f"{v:g}") for v in nice_ticks(lo, hi, most=6)]
    epochs = len(train)
    marks = [1.0, *nice_ticks(1, epochs, most=6)]
    xticks = [(100 * (e - 1) / (epochs - 1), f"{e:g}") for e in marks if e >= 1]
    xticks = [t for k, t in enumerate(xticks) if k == 0 or t[0] - xticks[0][0] > 6]  # no "1" over "0"
    return Curve(
        points(train), points(test), epochs, lo, hi, (train[0], test[0]), (train[-1], test[-1]),
        yticks=yticks, xticks=xticks,
    )


def losses(card: ModelCard) -> list[tuple[str, float, str]]:
    """The test-set numbers the card has, as (name, nats, what it means), in reading order."""
    m = card.metrics
    iw = m.get("iw_samples")
    known = [
        ("test_neg_elbo", "−ELBO", "negative evidence lower bound per test image: the loss trained on"),
        ("test_reconstruction", "reconstruction", "expected negative log-likelihood of the image given z"),
        ("test_kl", "KL", "KL(q(z|x) || p(z)), summed over the latent dimensions"),
        ("test_nll_iw", "NLL", f"importance-weighted estimate of -log p(x){f', {iw} samples' if iw else ''}"),
    ]
    return [(label, float(m[key]), title) for key, label, title in known if _numbers([m.get(key)])]


def class_names(card: ModelCard) -> list[str]:
    """The names of the classes of the model's data set (the map's legend); empty when unknown."""
    return card.classes


@dataclass(frozen=True)
class FactorMap:
    """The card's `factors` (model/factors.py): per latent dimension, the share of each factor's
    entropy it holds (0 .. 1, the heat map's cells) and the factor it carries most; and the MIG."""

    factors: list[str]
    rows: list[tuple[int, list[tuple[float, float]], str | None]]  # (dim, [(share, nats)], carried)
    mig: float | None
    gaps: list[float | None]  # MIG per factor
    best: list[int]  # per factor, the dimension that holds most of it


def factor_map(card: ModelCard) -> FactorMap | None:
    """None when the card has no factors (data without a factors.csv) or they are malformed."""
    f = (card.model_extra or {}).get("factors")
    if not isinstance(f, dict):
        return None
    try:
        names = [str(n) for n in f["factors"]]
        mi = [[float(v) for v in row] for row in f["mutual_information"]]
        entropy = [float(v) for v in f["entropy"]]
        carried = list(f.get("factor_of_dimension") or [None] * len(mi))
        gaps = [None if g is None else float(g) for g in f.get("mig_per_factor", [None] * len(names))]
        best = [int(b) for b in f.get("best_dimension", [])]
    except (KeyError, TypeError, ValueError):
        return None
    if not names or any(len(row) != len(names) for row in mi) or len(entropy) != len(names):
        return None
    rows = [
        (d, [(min(1.0, v / h) if h > 0 else 0.0, v) for v, h in zip(row, entropy, strict=True)], carried[d])
        for d, row in enumerate(mi)
    ]
    mig = f.get("mig")
    return FactorMap(names, rows, float(mig) if isinstance(mig, int | float) else None, gaps, best)
