"""Each model's encodings of a split: from memory, else `<cache_dir>/<name>.encodings.npz` (the test
split; `<name>.train.encodings.npz` for the training split), else computed.

Computed lazily, on the first request that needs them, in the request's worker thread (~1 s of torch
work); a lock per model makes concurrent first requests wait for one computation instead of repeating
it. Server start never pays for it, and nothing is computed for a model nobody looks at. The server
keeps one cache in its lifespan state; `python -m model.encodings` fills the files ahead of time.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from model.card import ModelCard
from model.data import CLASS_NAMES, SPLITS, DataError, Split, default_folder, find_split
from model.encodings.arrays import PCA, Encodings, encode_split, fit_pca
from model.encodings.arrays import load as load_encodings
from model.encodings.arrays import save as save_encodings
from model.store import atomic_write
from model.vae import Network

log = logging.getLogger(__name__)


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

    def has_split(self, dataset: str, split: str) -> bool:
        """Whether `split` of `dataset` is on this machine (its images file exists; not read)."""
        return f"{dataset}/{split}" in self._splits or (
            dataset in CLASS_NAMES and default_folder(dataset, self.data_dir, split) is not None)

    def split(self, dataset: str, split: str, *, purpose: str) -> Split:
        """`split` of `dataset`, read once; EncodingsUnavailable (starting with `purpose`)."""
        key = f"{dataset}/{split}"
        with self._lock("data:" + key):
            if key not in self._splits:
                try:
                    self._splits[key] = find_split(dataset, split, self.data_dir)
                except DataError as e:
                    raise EncodingsUnavailable(f"{purpose}: {e}") from e
            return self._splits[key]

    def test_split(self, dataset: str, *, purpose: str) -> Split:
        """The test split of `dataset` (split)."""
        return self.split(dataset, "test", purpose=purpose)
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
        data = self.split(dataset, split, purpose=f"no {which}encodings for {name}")
        shape = tuple(data.images.shape[1:])
        if (1, *shape) != (card.channels, card.image_size, card.image_size):
            raise EncodingsUnavailable(
                f"no encodings for {name}: the {dataset} images are {'x'.join(map(str, shape))} grey, "
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
