"""Encoding a split to latent means, the PCA of those means, and the cache file round trip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from model import encodings
from model.data import load_split
from model.vae import VAE, VAEConfig


@pytest.fixture(scope="module")
def vae() -> VAE:
    torch.manual_seed(0)
    return VAE(VAEConfig(latent_dim=3, arch="mlp", hidden=(16,))).eval()


def stretched_cloud(seed: int = 0) -> np.ndarray:
    """500 points in 4-D, spread 10x wider along (1, 1, 0, 0)/sqrt(2) than elsewhere."""
    rng = np.random.default_rng(seed)
    axis = np.array([1.0, 1.0, 0.0, 0.0]) / np.sqrt(2)
    return rng.normal(0, 1, (500, 4)) + rng.normal(0, 10, (500, 1)) * axis + 3.0


def test_encode_split_gives_one_float16_mean_and_label_per_image(vae: VAE, synthetic_data_dir: Path) -> None:
    split = load_split(synthetic_data_dir, "test")
    enc = encodings.encode_split(vae, split, dataset="mnist", checksum="abc")
    assert (enc.count, enc.latent_dim) == (len(split.images), 3)
    assert enc.means.dtype == np.float16
    np.testing.assert_array_equal(enc.labels, split.labels)


def test_encode_means_match_the_encoder_mean_at_any_batch_size(vae: VAE, synthetic_data_dir: Path) -> None:
    split = load_split(synthetic_data_dir, "test")
    with torch.inference_mode():
        mu, _ = vae.encode(split.tensor())
    for batch_size in (7, 1000):
        means = encodings.encode_means(vae, split.images, batch_size=batch_size)
        np.testing.assert_allclose(means.astype(np.float32), mu.numpy(), rtol=1e-3, atol=1e-3)


def test_encode_means_of_no_images_is_empty(vae: VAE) -> None:
    assert encodings.encode_means(vae, np.zeros((0, 28, 28), np.uint8)).shape == (0, 3)


def test_pca_components_are_orthonormal_and_ordered_by_variance() -> None:
    pca = encodings.fit_pca(stretched_cloud())
    assert pca.components.shape == (2, 4) and pca.mean.shape == (4,)
    np.testing.assert_allclose(pca.components @ pca.components.T, np.eye(2), atol=1e-5)
    assert pca.explained[0] > pca.explained[1] > 0 and pca.explained.sum() <= 1 + 1e-6


def test_pca_finds_the_direction_of_largest_spread() -> None:
    pca = encodings.fit_pca(stretched_cloud())
    np.testing.assert_allclose(pca.components[0], [0.7071, 0.7071, 0, 0], atol=0.02)
    np.testing.assert_allclose(pca.mean, [3, 3, 3, 3], atol=1.5)
    assert pca.explained[0] > 0.9


def test_pca_signs_do_not_depend_on_the_data_sign() -> None:
    x = stretched_cloud()
    np.testing.assert_allclose(encodings.fit_pca(x).components, encodings.fit_pca(-x).components, atol=1e-5)


def test_pca_projection_centres_the_points() -> None:
    x = stretched_cloud()
    points = encodings.fit_pca(x).project(x)
    assert points.shape == (500, 2)
    np.testing.assert_allclose(points.mean(axis=0), 0, atol=1e-3)


def test_saved_encodings_load_back_identical(tmp_path: Path) -> None:
    means = np.arange(12, dtype=np.float16).reshape(6, 2) / 7
    enc = encodings.Encodings(means, np.arange(6, dtype=np.uint8), "fashion-mnist", "f00")
    encodings.save(enc, tmp_path / "m.encodings.npz")
    back = encodings.load(tmp_path / "m.encodings.npz")
    np.testing.assert_array_equal(back.means, enc.means)
    np.testing.assert_array_equal(back.labels, enc.labels)
    assert (back.dataset, back.checksum, back.means.dtype) == ("fashion-mnist", "f00", np.float16)


def test_loading_another_format_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.npz"
    np.savez(path, version=np.array(0), means=np.zeros((1, 2), np.float16))
    with pytest.raises(ValueError, match="format 0"):
        encodings.load(path)


def test_the_cache_tool_runs_as_a_module_of_model() -> None:
    done = subprocess.run([sys.executable, "-m", "model.encodings", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "python -m model.encodings" in done.stdout and "--all" in done.stdout
