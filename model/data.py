"""Reading the MNIST-format IDX files (MNIST, Fashion-MNIST) from a folder the user names.

Accepted layouts: the original file names (optionally .gz) in the folder itself, torchvision's
`<folder>/MNIST/raw/` or `<folder>/FashionMNIST/raw/`, or `<folder>/raw/`, and Debian's
`/usr/share/datasets/fashion-mnist` from the package `dataset-fashion-mnist`. Without a folder named,
a data set is looked for in `$VAE_DATA_DIR/<set>`, else `data/<set>` and Debian's package.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions
LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension
SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
SUBFOLDERS = ("", "raw", "MNIST/raw", "FashionMNIST/raw", "fashion-mnist", "mnist")
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")

DATA_ENV = "VAE_DATA_DIR"  # a folder holding mnist/ and fashion-mnist/
TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}  # how the page and messages name them
CLASS_NAMES = {
    "mnist": [str(d) for d in range(10)],
    "fashion-mnist": [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ],
}


class DataError(Exception):
    """A data file is missing, truncated or not what was expected; the message names the file."""


@dataclass(frozen=True)
class Split:
    images: np.ndarray  # (N, 28, 28) uint8
    labels: np.ndarray  # (N,) uint8

    def tensor(self) -> torch.Tensor:
        """Images as float32 (N, 1, 28, 28) in [0, 1]."""
        return torch.from_numpy(self.images).float().div_(255).unsqueeze(1)


def find_file(folder: Path, stem: str) -> Path:
    """The path of `stem` or `stem.gz` in folder or one of its known subfolders."""
    tried = []
    for sub in SUBFOLDERS:
        for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
            p = folder / sub / name
            tried.append(p)
            if p.is_file():
                return p
    raise DataError(
        f"{stem}[.gz] not found in {folder} (also looked in its raw/, MNIST/raw/ and "
        f"FashionMNIST/raw/ subfolders); download the data set's four IDX files into that folder"
    )


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: not a valid gzip file ({e}); re-download it") from e


def read_idx(path: Path, magic: int, item_shape: tuple[int, ...]) -> np.ndarray:
    """Parse one IDX file of unsigned bytes, checking magic number, shape and length."""
    data = _read_bytes(path)
    kind = "image" if magic == IMAGES_MAGIC else "label"
    ndim = 1 + len(item_shape)
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(
            f"{path}: {len(data)} bytes is too short for an IDX {kind} file header; "
            "the file is truncated or not an IDX file, re-download it"
        )
    (found,) = struct.unpack(">i", data[:4])
    if found != magic:
        raise DataError(
            f"{path}: magic number {found}, expected {magic} (an IDX {kind} file); "
            "is it the wrong file or not an IDX file?"
        )
    dims = struct.unpack(f">{ndim}i", data[4:header])
    if tuple(dims[1:]) != item_shape:
        raise DataError(f"{path}: items of shape {dims[1:]}, expected {item_shape}")
    expected = header + int(np.prod(dims))
    if len(data) != expected:
        raise DataError(
            f"{path}: {len(data)} bytes, expected {expected} for {dims[0]} {kind}s; "
            "the file is truncated or corrupt, re-download it"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims).copy()


def load_split(folder: str | Path, split: str = "train") -> Split:
    """Read the images and labels of `split` ("train" or "test") from `folder`."""
    assert split in SPLITS, f"split must be one of {list(SPLITS)}, got {split!r}"
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"data folder {folder} does not exist")
    img_stem, lbl_stem = SPLITS[split]
    img_path, lbl_path = find_file(folder, img_stem), find_file(folder, lbl_stem)
    images = read_idx(img_path, IMAGES_MAGIC, (28, 28))
    labels = read_idx(lbl_path, LABELS_MAGIC, ())
    if len(images) != len(labels):
        raise DataError(f"{img_path} has {len(images)} images but {lbl_path} has {len(labels)} labels")
    return Split(images, labels)


def candidate_folders(dataset: str, data_dir: Path | None = None) -> list[Path]:
    """Where `dataset` is looked for: `<data_dir>/<dataset>` (default: $VAE_DATA_DIR) alone when given,
    else `data/<dataset>` and, for Fashion-MNIST, Debian's package dataset-fashion-mnist."""
    root = data_dir or os.environ.get(DATA_ENV)
    if root:
        return [Path(root) / dataset]
    return [Path("data") / dataset, *([DEBIAN_FASHION] if dataset == "fashion-mnist" else [])]


def default_folder(dataset: str, data_dir: Path | None = None, split: str = "test") -> Path | None:
    """The first of `candidate_folders` that holds the images of `split`, else None."""
    for c in candidate_folders(dataset, data_dir):
        try:
            find_file(c, SPLITS[split][0])
            return c
        except DataError:
            continue
    return None


def find_split(dataset: str, split: str, data_dir: Path | None = None) -> Split:
    """A split ("test" or "train") of a known data set, from `default_folder`; DataError saying what
    to put where."""
    assert split in SPLITS, f"split must be one of {list(SPLITS)}, got {split!r}"
    if dataset not in CLASS_NAMES:
        raise DataError(f"no {split} set is known for data set {dataset!r}; known: {', '.join(CLASS_NAMES)}")
    folder = default_folder(dataset, data_dir, split)
    if folder is None:
        images, labels = SPLITS[split]
        where = candidate_folders(dataset, data_dir)[0]
        raise DataError(
            f"the {TITLES[dataset]} {split} set was not found; put {images}.gz and {labels}.gz in {where} "
            f"or set {DATA_ENV} to a folder holding {dataset}/"
        )
    try:
        return load_split(folder, split)
    except DataError as e:
        raise DataError(f"the {TITLES[dataset]} {split} set is unreadable: {e}") from e


def find_test_split(dataset: str, data_dir: Path | None = None) -> Split:
    """The test split of a known data set (find_split)."""
    return find_split(dataset, "test", data_dir)


def write_idx(path: Path, array: np.ndarray, *, compress: bool = False) -> None:
    """Write a uint8 array as an IDX file (used by tests and for synthetic data)."""
    magic = IMAGES_MAGIC if array.ndim == 3 else LABELS_MAGIC
    header = struct.pack(f">i{array.ndim}i", magic, *array.shape)
    blob = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    path.write_bytes(gzip.compress(blob) if compress else blob)
