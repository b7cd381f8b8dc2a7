"""Each model's test-set encodings: from memory, else `<cache_dir>/<name>.encodings.npz`, else computed.

Computed lazily, on the first request that needs them, in the request's worker thread (~1 s of torch
work); a lock per model makes concurrent first requests wait for one computation instead of repeating
it. Server start never pays for it, and nothing is computed for a model nobody looks at.

`python -m server.encodings --all` writes the cache files for every model in the weights folder.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model.data import CLASS_NAMES, SPLITS, DataError, Split, default_folder, find_file, load_split
from model.encodings import PCA, Encodings, encode_split, fit_pca
from model.encodings import load as load_encodings
from model.encodings import save as save_encodings
from model.store import atomic_write, list_models, load
from model.vae import VAE
from server.settings import Settings

log = logging.getLogger(__name__)
TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}


class EncodingsUnavailable(Exception):
    """Neither a cache nor the test set is there; the message says what to put where."""


@dataclass
class Entry:
    encodings: Encodings
    pca: PCA | None  # the principal plane of the means when latent_dim > 2, else None
    exports: dict[str, bytes] = field(default_factory=dict)  # rendered bodies by format, filled lazily


def card_of(vae: VAE) -> dict[str, Any]:
    """The JSON card that `model.store.load` attaches to each model."""
    card: dict[str, Any] = vae.card  # type: ignore[assignment]
    return card


def cache_path(cache_dir: Path, name: str) -> Path:
    return cache_dir / f"{name}.encodings.npz"


class EncodingCache:
    """Lives in the app's lifespan state; safe to call from several request threads at once."""

    def __init__(self, *, cache_dir: Path, data_dir: Path | None) -> None:
        self.cache_dir = cache_dir
        self.data_dir = data_dir  # holds mnist/ and fashion-mnist/; None: model.data.default_folder
        self._entries: dict[str, Entry] = {}
        self._splits: dict[str, Split] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> EncodingCache:
        return cls(cache_dir=settings.cache_dir or settings.weights_dir, data_dir=settings.data_dir)

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def get(self, vae: VAE) -> Entry:
        """The encodings of the test set of the data set `vae` was trained on (blocking)."""
        card = card_of(vae)
        name, checksum = card["name"], card.get("sha256", "")
        entry = self._entries.get(name)
        if entry is not None and entry.encodings.checksum == checksum:
            return entry
        with self._lock("model:" + name):
            entry = self._entries.get(name)
            if entry is None or entry.encodings.checksum != checksum:
                dataset = card.get("dataset", "")
                enc = self._read(name, checksum, dataset) or self._compute(vae, name, checksum, dataset)
                entry = Entry(enc, fit_pca(enc.means) if enc.latent_dim > 2 else None)
                self._entries[name] = entry
            return entry

    def test_split(self, dataset: str, *, purpose: str) -> Split:
        """The test split of `dataset`, read once; EncodingsUnavailable (starting with `purpose`)."""
        with self._lock("data:" + dataset):
            if dataset not in self._splits:
                self._splits[dataset] = self._load_split(dataset, purpose)
            return self._splits[dataset]

    def _load_split(self, dataset: str, purpose: str) -> Split:
        if dataset not in CLASS_NAMES:
            raise EncodingsUnavailable(f"{purpose}: no test set is known for data set {dataset!r}")
        folder = self.data_dir / dataset if self.data_dir else default_folder(dataset)
        if folder is None or not _has_test_files(folder):
            images, labels = SPLITS["test"]
            where = folder or Path("data") / dataset
            raise EncodingsUnavailable(
                f"{purpose}: the {TITLES[dataset]} test set was not found; put {images}.gz and "
                f"{labels}.gz in {where} or set VAE_DATA_DIR to a folder holding {dataset}/"
            )
        try:
            return load_split(folder, "test")
        except DataError as e:
            raise EncodingsUnavailable(f"{purpose}: the {TITLES[dataset]} test set is unreadable: {e}") from e

    def _read(self, name: str, checksum: str, dataset: str) -> Encodings | None:
        path = cache_path(self.cache_dir, name)
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

    def _compute(self, vae: VAE, name: str, checksum: str, dataset: str) -> Encodings:
        split = self.test_split(dataset, purpose=f"no encodings for {name}")
        start = time.perf_counter()
        enc = encode_split(vae, split, dataset=dataset, checksum=checksum)
        log.info("encoded %d %s test images with %s in %.1f s", enc.count, dataset, name,
                 time.perf_counter() - start)
        if checksum:  # without a checksum a cache could never be told stale
            path = cache_path(self.cache_dir, name)
            try:
                atomic_write(path, lambda tmp: _save_readable(enc, tmp))
            except OSError as e:  # a read-only deployment still serves them, from memory
                log.warning("could not write %s (%s); keeping the encodings in memory only", path, e)
        return enc


def _save_readable(enc: Encodings, path: Path) -> None:
    save_encodings(enc, path)
    path.chmod(0o644)  # atomic_write's temporary file is private (0600); a cache is for every reader


def _has_test_files(folder: Path) -> bool:
    try:
        for stem in SPLITS["test"]:
            find_file(folder, stem)
    except DataError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    settings = Settings()
    p = argparse.ArgumentParser(prog="python -m server.encodings", description=__doc__.split("\n")[0])
    p.add_argument("names", nargs="*", help="model names (default with --all: every model)")
    p.add_argument("--all", action="store_true", help="every model in the weights folder")
    p.add_argument("--force", action="store_true", help="recompute even when the cache is current")
    p.add_argument("--weights-dir", type=Path, default=settings.weights_dir)
    p.add_argument("--data-dir", type=Path, default=settings.data_dir, help="holds mnist/, fashion-mnist/")
    p.add_argument("--cache-dir", type=Path, default=settings.cache_dir, help="default: the weights dir")
    args = p.parse_args(argv)
    names = [c["name"] for c in list_models(args.weights_dir)] if args.all else args.names
    if not names:
        p.error("name at least one model, or pass --all")
    cache = EncodingCache(cache_dir=args.cache_dir or args.weights_dir, data_dir=args.data_dir)
    failed = 0
    for name in names:
        path = cache_path(cache.cache_dir, name)
        if args.force:
            path.unlink(missing_ok=True)
        start = time.perf_counter()
        try:
            enc = cache.get(load(name, "cpu", folder=args.weights_dir)).encodings
        except (EncodingsUnavailable, FileNotFoundError) as e:
            print(e, file=sys.stderr)
            failed += 1
            continue
        size = f"{path.stat().st_size / 1024:.0f} KiB" if path.is_file() else "not written"
        print(f"{name}: {enc.count} x {enc.latent_dim} means -> {path} ({size}, "
              f"{time.perf_counter() - start:.1f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
