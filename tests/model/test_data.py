"""Reading IDX files: the layouts we accept, and the errors a user sees for a bad download."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from model import data
from model.data import SPLITS, DataError, default_folder, load_split, write_idx

IMAGES_STEM, LABELS_STEM = SPLITS["test"]


def write_split(
    folder: Path, n: int = 20, *, compress: bool = False, n_labels: int | None = None
) -> np.ndarray:
    """Write a test split of n random images (and n_labels labels) into folder; returns the images."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n if n_labels is None else n_labels, dtype=np.uint8)
    suffix = ".gz" if compress else ""
    write_idx(folder / (IMAGES_STEM + suffix), images, compress=compress)
    write_idx(folder / (LABELS_STEM + suffix), labels, compress=compress)
    return images


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "plain"])
def test_load_split_reads_images_and_labels(tmp_path: Path, compress: bool) -> None:
    images = write_split(tmp_path, compress=compress)
    split = load_split(tmp_path, "test")
    assert np.array_equal(split.images, images)
    assert split.labels.shape == (20,)


def test_load_split_reads_the_synthetic_training_set(synthetic_data_dir: Path) -> None:
    split = load_split(synthetic_data_dir, "train")
    assert split.images.shape == (600, 28, 28) and split.labels.shape == (600,)


def test_split_tensor_is_float_images_in_unit_interval(tmp_path: Path) -> None:
    write_split(tmp_path)
    x = load_split(tmp_path, "test").tensor()
    assert x.shape == (20, 1, 28, 28) and x.dtype == torch.float32
    assert x.min() >= 0 and x.max() <= 1


def test_load_split_reads_torchvision_layout(tmp_path: Path) -> None:
    images = write_split(tmp_path / "MNIST" / "raw", compress=True)
    assert np.array_equal(load_split(tmp_path, "test").images, images)


def test_load_split_reads_debian_package_folder(tmp_path: Path) -> None:
    # Debian's dataset-fashion-mnist installs the four .gz files in /usr/share/datasets/fashion-mnist/
    images = write_split(tmp_path / "datasets" / "fashion-mnist", compress=True)
    assert np.array_equal(load_split(tmp_path / "datasets", "test").images, images)
    assert np.array_equal(load_split(tmp_path / "datasets" / "fashion-mnist", "test").images, images)


def test_default_folder_finds_debian_fashion_mnist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    debian = tmp_path / "usr-share-datasets" / "fashion-mnist"
    write_split(debian, compress=True)
    monkeypatch.setattr(data, "DEBIAN_FASHION", debian)
    monkeypatch.chdir(tmp_path)  # no data/ folder from here
    monkeypatch.delenv("VAE_DATA_DIR", raising=False)
    assert default_folder("fashion-mnist") == debian
    assert default_folder("mnist") is None


def test_truncated_file_raises_naming_file_and_truncated(tmp_path: Path) -> None:
    write_split(tmp_path)
    path = tmp_path / IMAGES_STEM
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match="truncated") as err:
        load_split(tmp_path, "test")
    assert str(path) in str(err.value)


def test_file_shorter_than_header_raises_naming_file_and_truncated(tmp_path: Path) -> None:
    write_split(tmp_path)
    path = tmp_path / IMAGES_STEM
    path.write_bytes(path.read_bytes()[:10])
    with pytest.raises(DataError, match="truncated") as err:
        load_split(tmp_path, "test")
    assert str(path) in str(err.value)


def test_labels_file_in_place_of_images_raises_naming_expected_magic(tmp_path: Path) -> None:
    write_split(tmp_path)
    path = tmp_path / IMAGES_STEM
    path.write_bytes((tmp_path / LABELS_STEM).read_bytes())
    with pytest.raises(DataError, match=f"expected {data.IMAGES_MAGIC}") as err:
        load_split(tmp_path, "test")
    assert str(path) in str(err.value)


def test_missing_file_raises_naming_it(tmp_path: Path) -> None:
    write_split(tmp_path)
    (tmp_path / LABELS_STEM).unlink()
    with pytest.raises(DataError, match=LABELS_STEM) as err:
        load_split(tmp_path, "test")
    assert str(tmp_path) in str(err.value)


def test_missing_folder_raises_naming_it(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist") as err:
        load_split(tmp_path / "nowhere", "test")
    assert str(tmp_path / "nowhere") in str(err.value)


def test_non_gzip_file_named_gz_raises(tmp_path: Path) -> None:
    write_split(tmp_path, compress=True)
    path = tmp_path / (IMAGES_STEM + ".gz")
    path.write_bytes(b"<html><body>404 Not Found</body></html>\n")  # a saved error page
    with pytest.raises(DataError) as err:
        load_split(tmp_path, "test")
    assert str(path) in str(err.value)


def test_corrupt_gzip_raises_naming_file(tmp_path: Path) -> None:
    write_split(tmp_path, compress=True)
    path = tmp_path / (IMAGES_STEM + ".gz")
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])  # an interrupted download
    with pytest.raises(DataError, match="gzip") as err:
        load_split(tmp_path, "test")
    assert str(path) in str(err.value)


def test_image_and_label_count_mismatch_raises(tmp_path: Path) -> None:
    write_split(tmp_path, n=20, n_labels=19)
    with pytest.raises(DataError, match="20 images .* 19 labels"):
        load_split(tmp_path, "test")


def test_images_of_wrong_size_raise(tmp_path: Path) -> None:
    write_split(tmp_path)
    write_idx(tmp_path / IMAGES_STEM, np.zeros((20, 32, 32), dtype=np.uint8))
    with pytest.raises(DataError, match=r"expected \(28, 28\)"):
        load_split(tmp_path, "test")
