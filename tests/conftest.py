"""Shared fixtures: small synthetic data sets and tiny models, so that tests need no real data; and
`real_data`, the folder of the real MNIST and Fashion-MNIST for the few tests that want them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from model.data import SPLITS, write_idx

ROOT = Path(__file__).resolve().parent.parent
# what a developer sets VAE_DATA_DIR to; by default, where the development machines keep the data
REAL_DATA = Path(os.environ.get("VAE_DATA_DIR") or ROOT.parent / "shared" / "data")


def synthetic_digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n 28x28 images of bright blobs whose position depends on the label: learnable structure."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    yy, xx = np.mgrid[0:28, 0:28]
    cy = 8 + (labels % 5) * 3 + rng.normal(0, 0.7, n)
    cx = 9 + (labels // 5) * 10 + rng.normal(0, 0.7, n)
    r = 3 + rng.random(n) * 1.5
    d2 = (yy[None] - cy[:, None, None]) ** 2 + (xx[None] - cx[:, None, None]) ** 2
    images = np.clip(255 * np.exp(-d2 / (2 * r[:, None, None] ** 2)) * 1.3, 0, 255).astype(np.uint8)
    return images, labels


@pytest.fixture(scope="session")
def synthetic_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synthetic-mnist")
    for split, n in (("train", 600), ("test", 100)):
        images, labels = synthetic_digits(n, seed=1 if split == "train" else 2)
        img_name, lbl_name = SPLITS[split]
        write_idx(folder / f"{img_name}.gz", images, compress=True)
        write_idx(folder / lbl_name, labels)
    return folder


def write_tiny_models(folder: Path) -> Path:
    """Untrained small MLP VAEs named like two shipped ones (z=2 and z=10), with cards. Their
    encoders' means are shifted away from 0, so that moving the sliders to an upload's mean shows."""
    import torch

    from model.store import save
    from model.vae import VAE, VAEConfig

    for name, dim in (("mnist-z2", 2), ("mnist-z10", 10)):
        torch.manual_seed(dim)
        vae = VAE(VAEConfig(latent_dim=dim, arch="mlp", hidden=(32,)))
        with torch.no_grad():
            vae.encoder[-1][-1].bias[:dim] += torch.linspace(-1.5, 1.5, dim)  # (mean, logvar) halves
        card = {"dataset": "mnist", "metrics": {"test_neg_elbo": 123.4, "kl_per_dim": [1.0] * dim}}
        save(vae, folder / name, card)
    return folder


@pytest.fixture(scope="session")
def tiny_weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_models(tmp_path_factory.mktemp("tiny-weights"))


@pytest.fixture(scope="session")
def real_data() -> Iterator[Path]:
    """A folder holding the real mnist/ and fashion-mnist/, to pass as VAE_DATA_DIR or data_dir;
    the test is skipped when there is none."""
    if not (REAL_DATA / "mnist").is_dir():
        pytest.skip(f"needs the real MNIST: set VAE_DATA_DIR to a folder holding mnist/ (not at {REAL_DATA})")
    yield REAL_DATA
