"""Where a data set lands in latent space: the encoder means of a split, and a 2-D PCA of them.

Means are stored as float16 (a map needs ~3 significant digits, and 10,000 x 10 of them then take
200 kB); everything derived from them (PCA) is computed from those float16 values, so a fresh
computation and a cached one give the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from model.data import Split
from model.vae import Network

FORMAT_VERSION = 1  # bump when the file layout or the meaning of its arrays changes
F16_MAX = float(np.finfo(np.float16).max)


@dataclass(frozen=True)
class Encodings:
    means: np.ndarray  # (N, latent_dim) float16: the mean of q(z|x) for each image of the split
    labels: np.ndarray  # (N,) uint8 class indices
    dataset: str  # "mnist" or "fashion-mnist": selects the class names
    checksum: str  # sha256 of the weights that produced the means; a different one means stale

    def __post_init__(self) -> None:
        assert self.means.ndim == 2 and self.means.dtype == np.float16, "means must be (N, d) float16"
        assert self.labels.shape == (len(self.means),), "need one label per mean"
        assert self.labels.dtype == np.uint8, "labels must be uint8"

    @property
    def count(self) -> int:
        return len(self.means)

    @property
    def latent_dim(self) -> int:
        return int(self.means.shape[1])


@dataclass(frozen=True)
class PCA:
    components: np.ndarray  # (k, d) float32, orthonormal rows, by decreasing variance
    mean: np.ndarray  # (d,) float32: subtracted before projecting
    explained: np.ndarray  # (k,) float32: fraction of the total variance along each component

    def project(self, z: np.ndarray) -> np.ndarray:
        """(N, d) latent points -> (N, k) coordinates on the principal plane."""
        return (np.asarray(z, dtype=np.float32) - self.mean) @ self.components.T


def encode_means(vae: Network, images: np.ndarray, *, batch_size: int = 1000) -> np.ndarray:
    """(N, H, W) or (N, H, W, 3) uint8 images -> (N, latent_dim) float16 encoder means, in batches."""
    out = []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(images[start : start + batch_size])).to(vae.device)
            # grey (N, H, W) or colour (N, H, W, 3) -> (N, C, H, W)
            x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)
            mu, _ = vae.encode(x.float().div_(255))
            out.append(mu.float().cpu().numpy())
    means = np.concatenate(out) if out else np.zeros((0, vae.latent_dim), np.float32)
    # float16 overflows to inf past 65504, and inf or NaN would make invalid JSON downstream
    return np.nan_to_num(np.clip(means, -F16_MAX, F16_MAX)).astype(np.float16)


def encode_split(vae: Network, split: Split, *, dataset: str, checksum: str) -> Encodings:
    return Encodings(encode_means(vae, split.images), split.labels.astype(np.uint8), dataset, checksum)


def fit_pca(means: np.ndarray, k: int = 2) -> PCA:
    """Principal components of the rows of `means` (N, d), k <= d.

    Signs are fixed (largest loading of each component positive) so that the plane does not flip
    between runs or machines.
    """
    x = np.asarray(means, dtype=np.float64)
    assert x.ndim == 2 and 1 <= k <= x.shape[1], f"need (N, d) with d >= {k}, got {x.shape}"
    mean = x.mean(axis=0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    comps = vt[:k]
    signs = np.sign(comps[np.arange(k), np.abs(comps).argmax(axis=1)])
    comps = comps * np.where(signs == 0, 1, signs)[:, None]
    var = s**2
    explained = var[:k] / var.sum() if var.sum() > 0 else np.zeros(k)
    return PCA(comps.astype(np.float32), mean.astype(np.float32), explained.astype(np.float32))


def save(enc: Encodings, path: Path) -> None:
    """Write `enc` as a compressed .npz (plain arrays only: loading never unpickles)."""
    with open(path, "wb") as f:  # a file object: np.savez would append .npz to a path
        np.savez_compressed(
            f,
            version=np.array(FORMAT_VERSION),
            means=enc.means,
            labels=enc.labels,
            dataset=np.array(enc.dataset),
            checksum=np.array(enc.checksum),
        )


def load(path: Path) -> Encodings:
    """Read a file written by `save`; ValueError when it is not one or has another version."""
    with np.load(path, allow_pickle=False) as z:
        version = int(z["version"]) if "version" in z else -1
        if version != FORMAT_VERSION:
            raise ValueError(f"{path}: encodings format {version}, expected {FORMAT_VERSION}")
        return Encodings(z["means"], z["labels"], str(z["dataset"]), str(z["checksum"]))
