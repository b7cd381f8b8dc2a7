"""Where training images come from: a known data set in IDX files (`mnist`, `fashion-mnist`) or a
folder of images (model/folder.py), as one `TrainingData` for model/train.py."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from model.data import CLASS_NAMES, DataError, default_folder, load_split
from model.folder import load_folder


@dataclass
class TrainingData:
    train: torch.Tensor  # uint8 (N, C, S, S): in memory, or a view of the mapped folder cache
    test: torch.Tensor  # float32 (M, C, S, S) in [0, 1]
    test_labels: np.ndarray
    test_files: list[str] | None  # a folder's test images, relative paths in the order of `test`
    channels: int
    image_size: int
    in_memory: bool  # False: `train` maps a file; batches are read from it, not moved whole
    card: dict[str, Any] = field(default_factory=dict)  # what the model card records about the data

    @property
    def root(self) -> Path | None:
        path = self.card.get("data", {}).get("path")
        return Path(path) if path else None


def pixels(x: torch.Tensor) -> torch.Tensor:
    """uint8 images -> float32 in [0, 1]."""
    return x.float().div_(255)


def _idx(name: str, data_dir: Path | None, image_size: int, channels: int | None) -> TrainingData:
    if image_size != 28 or channels not in (None, 1):
        raise DataError(f"{name} images are 28x28 grey: --image-size must be 28 and --channels 1 for it")
    folder = data_dir or default_folder(name, split="train")
    if folder is None:
        raise DataError(f"no data folder for {name!r} found; pass --data-dir")
    train, test = load_split(folder, "train"), load_split(folder, "test")
    card = {
        "dataset": name, "preprocessing": "mnist", "class_names": CLASS_NAMES[name],
        "data": {"path": str(folder), "split": "the data set's own train and test files"},
    }
    return TrainingData(
        train=torch.from_numpy(train.images).unsqueeze(1),
        test=pixels(torch.from_numpy(test.images).unsqueeze(1)),
        test_labels=test.labels, test_files=None, channels=1, image_size=28, in_memory=True, card=card,
    )


def load_training_data(
    data: str, *, data_dir: Path | None, image_size: int, channels: int | None, cache_dir: Path, seed: int,
) -> TrainingData:
    """`data` names a known data set or is a folder of images; DataError says what is wrong."""
    if data in CLASS_NAMES:
        return _idx(data, data_dir, image_size, channels)
    root = Path(data)
    found = load_folder(root, image_size=image_size, channels=channels, cache_dir=cache_dir, seed=seed)
    if not len(found.test):
        raise DataError(f"{root} has no test images: add a test/ subfolder, or more than one image")
    card = {
        "dataset": root.resolve().name, "preprocessing": "resize-crop", "class_names": found.classes,
        "data": found.info,
    }
    return TrainingData(
        train=torch.from_numpy(found.train), test=pixels(torch.from_numpy(np.array(found.test))),
        test_labels=found.test_labels, test_files=found.test_files, channels=found.channels,
        image_size=image_size, in_memory=False, card=card,
    )


def factor_metrics(vae: Any, data: TrainingData, *, batch_size: int = 500) -> dict[str, Any] | None:
    """Mutual information and MIG of the test images' latent means against the folder's
    factors.csv (model/factors.py), or None when the data has none."""
    from model import factors

    root = data.root
    if root is None or data.test_files is None or not (root / factors.FILE_NAME).is_file():
        return None
    try:  # a factors.csv that does not fit the images costs the measurement, never the trained model
        table = factors.read_factors(root / factors.FILE_NAME)
        codes = table.rows(data.test_files)
    except factors.FactorsError as e:
        print(f"warning: no factor metrics: {e}", file=sys.stderr)
        return None
    with torch.inference_mode():
        means = torch.cat([vae.encode(xb.to(vae.device))[0].cpu() for xb in data.test.split(batch_size)])
    return factors.measure(means.numpy(), codes, table.names)
