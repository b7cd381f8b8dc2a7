"""Each model's encodings of a split: from memory, else `<cache_dir>/<name>.encodings.npz` (the test
split; `<name>.train.encodings.npz` for the training split), else computed.

Computed lazily, on the first request that needs them, in the request's worker thread (~1 s of torch
work); a lock per model makes concurrent first requests wait for one computation instead of repeating
it. Server start never pays for it, and nothing is computed for a model nobody looks at. The server
keeps one cache in its lifespan state; `python -m model.encodings` fills the files ahead of time.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.card import ModelCard
from model.data import CLASS_NAMES, SPLITS, DataError, Split, default_folder, find_split
from model.encodings.arrays import PCA, Encodings, encode_split, fit_pca
from model.encodings.arrays import load as load_encodings
from model.encodings.arrays import save as save_encodings
from model.factors import FILE_NAME, FactorTable, read_factors
from model.folder import load_folder
from model.store import atomic_write
from model.vae import Network

log = logging.getLogger(__name__)


def images_cache() -> Path:
    """Where a folder's decoded images are kept for the map (model/folder.py's cache, about 12 kB per
    64x64 colour image): never beside the weights; $XDG_CACHE_HOME or ~/.cache, else the temp folder."""
    home = os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache")
    for root in (Path(home), Path(tempfile.gettempdir())):
        folder = root / "vae-latent-explorer" / "images"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return folder
        except OSError:
            continue
    raise DataError("no writable folder for the image cache: not $XDG_CACHE_HOME, ~/.cache or /tmp")


class EncodingsUnavailable(Exception):
    """Neither a cache nor the test set is there; the message says what to put where."""


@dataclass
class Entry:
    encodings: Encodings
    pca: PCA | None  # the principal plane of the means when latent_dim > 2, else None
    exports: dict[str, bytes] = field(default_factory=dict)  # rendered bodies by format, filled lazily


def cache_path(cache_dir: Path, name: str, split: str = "test") -> Path:
    return cache_dir / f"{name}{'' if split == 'test' else '.' + split}.encodings.npz"


class EncodingCache:
    """Safe to call from several request threads at once."""

    def __init__(self, *, cache_dir: Path, data_dir: Path | None) -> None:
        self.cache_dir = cache_dir
        self.data_dir = data_dir  # holds mnist/ and fashion-mnist/; None: model.data.candidate_folders
        self._entries: dict[str, Entry] = {}
        self._splits: dict[str, Split] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def get(self, vae: Network, card: ModelCard, split: str = "test") -> Entry:
        """The encodings of `split` of the data set `vae` was trained on (blocking). The PCA is
        fitted to each split's own means; the map projects every split onto the test split's."""
        assert split in SPLITS, f"split must be one of {list(SPLITS)}, got {split!r}"
        name, checksum, key = card.name, card.sha256, f"{card.name}/{split}"
        entry = self._entries.get(key)
        if entry is not None and entry.encodings.checksum == checksum:
            return entry
        with self._lock("model:" + key):
            entry = self._entries.get(key)
            if entry is None or entry.encodings.checksum != checksum:
                dataset = card.dataset or ""
                enc = (self._read(name, checksum, dataset, split)
                       or self._compute(vae, card, dataset, split))
                entry = Entry(enc, fit_pca(enc.means) if enc.latent_dim > 2 else None)
                self._entries[key] = entry
            return entry

    def has_split(self, card: ModelCard, split: str) -> bool:
        """Whether `split` of the card's data is on this machine (its files exist; not read)."""
        dataset = card.dataset or ""
        if f"{dataset}/{split}" in self._splits:
            return True
        if dataset in CLASS_NAMES:
            return default_folder(dataset, self.data_dir, split) is not None
        return self._folder_of(card) is not None

    def split(self, card: ModelCard, split: str, *, purpose: str) -> Split:
        """`split` of the data the card's model was trained on: a known data set's IDX files, or the
        folder of images its card records (model/folder.py, split as in training), read once;
        EncodingsUnavailable (starting with `purpose`)."""
        dataset = card.dataset or ""
        key = f"{dataset}/{split}"
        with self._lock("data:" + key):
            if key not in self._splits:
                try:
                    self._splits[key] = self._find(card, split)
                except DataError as e:
                    raise EncodingsUnavailable(f"{purpose}: {e}") from e
            return self._splits[key]

    def test_split(self, card: ModelCard, *, purpose: str) -> Split:
        """The test split of the card's data (split)."""
        return self.split(card, "test", purpose=purpose)

    def _folder_of(self, card: ModelCard) -> Path | None:
        """The image folder the card records, as given or by name under data_dir; None if absent."""
        path = (card.model_extra or {}).get("data", {}).get("path")
        if not path or card.dataset in CLASS_NAMES:
            return None
        candidates = [Path(path), *([self.data_dir / Path(path).name] if self.data_dir else [])]
        return next((c for c in candidates if c.is_dir()), None)

    def factors(self, card: ModelCard, split: str) -> tuple[FactorTable, np.ndarray] | None:
        """The folder's factors.csv and the codes of `split`'s images in the map's order (N, F), or
        None when the card's data has no factors.csv (or is not on this machine)."""
        root = self._folder_of(card)
        if root is None or not (root / FILE_NAME).is_file():
            return None
        seed = int((card.model_extra or {}).get("seed", 0))
        data = load_folder(root, image_size=card.image_size, channels=card.channels,
                           cache_dir=images_cache(), seed=seed)
        table = read_factors(root / FILE_NAME)
        return table, table.rows(data.train_files if split == "train" else data.test_files)

    def _find(self, card: ModelCard, split: str) -> Split:
        dataset = card.dataset or ""
        if dataset in CLASS_NAMES or not (card.model_extra or {}).get("data"):
            return find_split(dataset, split, self.data_dir)
        root = self._folder_of(card)
        if root is None:
            where = card.model_extra["data"].get("path") if card.model_extra else None
            raise DataError(f"the images of {dataset!r} are not on this machine (the card says {where})")
        seed = int((card.model_extra or {}).get("seed", 0))
        data = load_folder(root, image_size=card.image_size, channels=card.channels,
                           cache_dir=images_cache(), seed=seed)
        train = split == "train"
        images, labels = (data.train, data.train_labels) if train else (data.test, data.test_labels)
        shown = images[:, 0] if card.channels == 1 else np.moveaxis(images, 1, -1)  # (N, H, W[, 3]) views
        return Split(shown, np.where(labels < 0, 0, labels).astype(np.uint8))
    def _read(self, name: str, checksum: str, dataset: str, split: str) -> Encodings | None:
        path = cache_path(self.cache_dir, name, split)
        if not checksum or not path.is_file():
            return None
        try:
            enc = load_encodings(path)
        except Exception as e:  # any unreadable cache is only a miss
            log.warning("ignoring %s: %s", path, e)
            return None
        if enc.checksum != checksum or enc.dataset != dataset:
            log.info("%s is stale (made for other weights); recomputing", path)
            return None
        return enc

    def _compute(self, vae: Network, card: ModelCard, dataset: str, split: str) -> Encodings:
        name, checksum = card.name, card.sha256
        which = "" if split == "test" else f"{split} "
        data = self.split(card, split, purpose=f"no {which}encodings for {name}")
        shape = tuple(data.images.shape[1:])  # (H, W) grey or (H, W, 3) colour
        channels = 3 if len(shape) == 3 else 1
        if (channels, *shape[:2]) != (card.channels, card.image_size, card.image_size):
            kind = "colour" if channels == 3 else "grey"
            raise EncodingsUnavailable(
                f"no encodings for {name}: the {dataset} images are {'x'.join(map(str, shape[:2]))} {kind}, "
                f"and {name} takes {card.channels}x{card.image_size}x{card.image_size} images"
            )
        start = time.perf_counter()
        enc = encode_split(vae, data, dataset=dataset, checksum=checksum)
        log.info("encoded %d %s %s images with %s in %.1f s", enc.count, dataset, split, name,
                 time.perf_counter() - start)
        if checksum:  # without a checksum a cache could never be told stale
            path = cache_path(self.cache_dir, name, split)
            try:
                atomic_write(path, lambda tmp: _save_readable(enc, tmp))
            except OSError as e:  # a read-only deployment still serves them, from memory
                log.warning("could not write %s (%s); keeping the encodings in memory only", path, e)
        return enc


def _save_readable(enc: Encodings, path: Path) -> None:
    save_encodings(enc, path)
    path.chmod(0o644)  # atomic_write's temporary file is private (0600); a cache is for every reader
