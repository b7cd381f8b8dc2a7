"""Factors of variation, and how well a model's latent dimensions capture them.

A data folder may hold a `factors.csv` (the shapes set writes one, model/shapes.py; anyone can write
one for their own images): a `file` column with each image's path relative to the folder, then one
column per factor. A column that is not all numbers is categorical. A numeric column with at most
`BINS` distinct values keeps them; one with more is cut into at most `BINS` equal-count bins.

`measure` estimates the mutual information between each latent dimension's mean and each factor, and
the Mutual Information Gap (Chen et al., "Isolating Sources of Disentanglement in Variational
Autoencoders", 2018): for each factor, the gap between the two dimensions that know most about it,
as a fraction of the factor's entropy, averaged over factors. 1 means every factor lives in one
dimension of its own; 0 that none does. The estimator is disentanglement_lib's (Locatello et al.,
2019): each mean is cut into `BINS` equal-width bins between its minimum and maximum, and the
mutual information of two discrete variables is read off their joint histogram.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FILE_NAME = "factors.csv"
BINS = 20
CARRIES = 0.05  # the fraction of a factor's entropy a dimension must hold to be said to carry it


class FactorsError(ValueError):
    """A factors.csv that cannot be used; the message names the file and what was wrong."""


@dataclass(frozen=True)
class FactorTable:
    files: list[str]  # paths relative to the folder, with forward slashes
    names: list[str]  # the factors, in the file's column order
    codes: np.ndarray  # (N, F) int: each factor's value as 0 .. levels - 1
    labels: list[list[str]]  # per factor, what each code stands for: a category, a value or a bin

    def rows(self, files: Sequence[str]) -> np.ndarray:
        """The codes of the named files, in their order: (len(files), F)."""
        index = {f: i for i, f in enumerate(self.files)}
        wanted = [f.replace("\\", "/") for f in files]  # a Windows path names the same row
        missing = [f for f in wanted if f not in index]
        if missing:
            raise FactorsError(f"{FILE_NAME} has no row for {len(missing)} file(s), e.g. {missing[:3]}")
        return self.codes[[index[f] for f in wanted]]


def is_numeric(column: Sequence[str]) -> bool:
    try:
        return all(math.isfinite(float(v)) for v in column)
    except ValueError:
        return False


def equal_count_bins(values: np.ndarray, bins: int) -> tuple[np.ndarray, list[str]]:
    """Cut values into at most `bins` bins holding about as many values each (fewer when ties
    straddle a cut): codes from 0, and each bin's range as a label."""
    edges = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)))
    codes = np.searchsorted(edges[1:-1], values, side="right")
    used, codes = np.unique(codes, return_inverse=True)
    bounds = [(edges[k], edges[k + 1]) for k in used]
    return codes, [f"{lo:.4g}..{hi:.4g}" for lo, hi in bounds]


def discretise(column: Sequence[str], bins: int = BINS) -> tuple[np.ndarray, list[str]]:
    """One factor's column as integer codes and their labels."""
    if not is_numeric(column):
        labels, codes = np.unique(np.asarray(column), return_inverse=True)
        return codes, [str(v) for v in labels]
    values = np.asarray(column, dtype=float)
    distinct, codes = np.unique(values, return_inverse=True)
    if len(distinct) <= bins:
        return codes, [f"{v:.6g}" for v in distinct]
    return equal_count_bins(values, bins)


def read_factors(path: Path) -> FactorTable:
    """Read `path`, a factors.csv or the folder that holds one."""
    path = path / FILE_NAME if path.is_dir() else path
    try:
        with open(path, newline="") as f:
            header, *rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise FactorsError(f"cannot read {path}: {e}") from e
    if not header or header[0] != "file" or len(header) < 2:
        raise FactorsError(f"{path}: the first column must be 'file', then one column per factor; "
                           f"got {header}")
    rows = [r for r in rows if r]
    short = [i + 2 for i, r in enumerate(rows) if len(r) != len(header)]
    if short or not rows:
        raise FactorsError(f"{path}: every row needs {len(header)} values; lines {short[:5]} do not"
                           if short else f"{path} has no rows")
    files = [r[0].replace("\\", "/") for r in rows]
    if len(set(files)) != len(files):
        raise FactorsError(f"{path}: a file is named on more than one row")
    columns = [discretise([r[j] for r in rows]) for j in range(1, len(header))]
    codes = np.stack([c for c, _ in columns], axis=1)
    return FactorTable(files, header[1:], codes, [labels for _, labels in columns])


def discretise_latents(latents: np.ndarray, bins: int = BINS) -> np.ndarray:
    """Each column of (N, D) cut into `bins` equal-width bins over its range: (N, D) codes."""
    lo, hi = latents.min(axis=0), latents.max(axis=0)
    width = np.where(hi > lo, (hi - lo) / bins, 1.0)
    return np.clip(((latents - lo) / width).astype(int), 0, bins - 1)


def entropy(codes: np.ndarray) -> float:
    """H of a discrete variable from its sample, in nats."""
    p = np.bincount(codes) / len(codes)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    """I(a; b) of two discrete variables from a paired sample, in nats, from their joint histogram."""
    nb = int(b.max()) + 1
    joint = np.bincount(a * nb + b, minlength=(int(a.max()) + 1) * nb).reshape(-1, nb) / len(a)
    pa, pb = joint.sum(axis=1, keepdims=True), joint.sum(axis=0, keepdims=True)
    nz = joint > 0
    return float(max((joint[nz] * np.log(joint[nz] / (pa @ pb)[nz])).sum(), 0.0))


def mutual_information_matrix(latent_codes: np.ndarray, factor_codes: np.ndarray) -> np.ndarray:
    """(D, F) nats: every latent dimension against every factor."""
    d, f = latent_codes.shape[1], factor_codes.shape[1]
    return np.array([[mutual_information(latent_codes[:, i], factor_codes[:, j]) for j in range(f)]
                     for i in range(d)])


def mutual_information_gap(mi: np.ndarray, entropies: np.ndarray) -> np.ndarray:
    """Per factor, (largest - second largest MI over dimensions) / H(factor); NaN for a constant
    factor. With one latent dimension the second largest is 0."""
    top = -np.sort(-np.vstack([mi, np.zeros((1, mi.shape[1]))]), axis=0)  # (D + 1, F), largest first
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(entropies > 0, (top[0] - top[1]) / entropies, np.nan)


def carried(mi: np.ndarray, entropies: np.ndarray, names: Sequence[str]) -> list[str | None]:
    """Per dimension, the factor it holds the largest fraction of, or None where that is under
    CARRIES of every factor's entropy (an inactive dimension, or noise)."""
    fraction = mi / np.where(entropies > 0, entropies, np.inf)  # (D, F)
    return [names[int(row.argmax())] if row.max() >= CARRIES else None for row in fraction]


def measure(
    latents: np.ndarray, factor_codes: np.ndarray, names: Sequence[str], bins: int = BINS
) -> dict[str, Any]:
    """Mutual information and MIG of latent means (N, D) against the factors of the same N images
    (N, F), as a JSON-able dict for the model card."""
    assert latents.ndim == 2 and factor_codes.shape == (len(latents), len(names)), (
        f"need latents (N, D) and factor codes (N, {len(names)}), "
        f"got {latents.shape} and {factor_codes.shape}")
    mi = mutual_information_matrix(discretise_latents(latents, bins), factor_codes)
    entropies = np.array([entropy(factor_codes[:, j]) for j in range(len(names))])
    gaps = mutual_information_gap(mi, entropies)
    return {
        "factors": list(names),
        "mutual_information": np.round(mi, 5).tolist(),  # [latent dimension][factor], nats
        "entropy": np.round(entropies, 5).tolist(),
        "mig": round(float(np.nanmean(gaps)), 5) if np.isfinite(gaps).any() else None,
        "mig_per_factor": [None if math.isnan(g) else round(float(g), 5) for g in gaps],
        "best_dimension": [int(k) for k in mi.argmax(axis=0)],  # per factor
        "factor_of_dimension": carried(mi, entropies, names),
        "images": len(latents),
        "method": f"latent means in {bins} equal-width bins, factors with more than {BINS} values "
                  f"in {BINS} equal-count bins; MI from joint histograms (nats); MIG as in Chen et al. "
                  "2018, estimated as in disentanglement_lib",
    }
