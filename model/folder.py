"""Training data from a folder of images: PNG, JPEG, GIF, BMP or WebP, any size, grey or colour.

- Classes: one level of subfolders names them, as torchvision's ImageFolder does (images deeper
  inside a class folder belong to it). Without subfolders the images have no labels (-1).
- Split: `train/` and `test/` subfolders when the folder has both; otherwise a seeded 10% is held
  out for testing.
- Each image is resized so that its shorter side is the image size, then its centre is cropped
  (`resize_crop`, which the server applies to uploads of such models too).
- The images are decoded once into a memory-mapped uint8 cache, `<cache_dir>/<key>.u8` plus
  `<key>.json`, where the key covers the folder's path, every file's size and time, the size and the
  channels. Later runs and every epoch read the cache, never the image files, and a folder larger
  than memory still trains: the arrays are views of the mapped file, and a batch reads its rows.
- A file that cannot be decoded (corrupt, truncated, unreadable) is skipped; how many, and the first
  few names, are logged and recorded in the card.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from tqdm import tqdm

from model.data import DataError

SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp")
FORMATS = "PNG, JPEG, GIF, BMP or WebP"
HELD_OUT = 0.1  # of the images, for testing, when the folder has no train/ and test/
SIZES = (28, 32, 64)
SHOW_SKIPPED = 5  # names of skipped files kept in the card and the log
CHANNEL_PROBE = 200  # images looked at to tell grey data from colour

log = logging.getLogger(__name__)


def resize_crop(img: Image.Image, *, size: int, channels: int) -> np.ndarray:
    """An image -> (channels, size, size) uint8: EXIF orientation applied, transparent pixels made
    white, resized (Lanczos) so its shorter side is `size`, the centre cropped."""
    with contextlib.suppress(Exception):  # a corrupt EXIF block: keep the pixels as stored
        img = ImageOps.exif_transpose(img) or img
    if img.mode not in ("RGB", "L"):
        rgba = img.convert("RGBA")
        img = Image.new("RGB", rgba.size, (255, 255, 255))
        img.paste(rgba, mask=rgba.getchannel("A"))
    w, h = img.size
    scale = size / min(w, h)
    out_w, out_h = max(size, round(w * scale)), max(size, round(h * scale))
    img = img.resize((out_w, out_h), Image.Resampling.LANCZOS, reducing_gap=3.0)
    left, top = (out_w - size) // 2, (out_h - size) // 2
    img = img.crop((left, top, left + size, top + size))
    arr = np.asarray(img.convert("RGB" if channels == 3 else "L"), dtype=np.uint8)
    return arr.transpose(2, 0, 1) if channels == 3 else arr[None]


@dataclass(frozen=True)
class Listing:
    """The images of a folder, train files first, then test files (paths relative to `root`)."""

    root: Path
    files: list[str]
    labels: np.ndarray  # int16, -1 when the folder has no class subfolders
    n_train: int
    classes: list[str] | None
    split: str  # how the test images were chosen, for the card


def _images_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())


def _part(folder: Path, classes: list[str] | None) -> tuple[list[Path], list[int], list[str] | None]:
    """The images of one part (the folder, or its train/ or test/) and their class indices."""
    subfolders = sorted(d.name for d in folder.iterdir() if d.is_dir() and _images_under(d))
    if classes is None and subfolders:
        classes = subfolders
    if not classes:
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file())
        return files, [-1] * len(files), None
    files, labels = [], []
    for i, name in enumerate(classes):
        found = _images_under(folder / name) if (folder / name).is_dir() else []
        files += found
        labels += [i] * len(found)
    return files, labels, classes


def list_folder(root: Path, *, seed: int = 0) -> Listing:
    """The folder's images, classes and split; DataError when it is missing or has no images."""
    if not root.exists():
        raise DataError(f"the data folder {root} does not exist")
    if not root.is_dir():
        raise DataError(f"{root} is not a folder; --data takes mnist, fashion-mnist or a folder of images")
    if (root / "train").is_dir() and (root / "test").is_dir():
        train, train_labels, classes = _part(root / "train", None)
        test, test_labels, _ = _part(root / "test", classes)
        split = "the folder's train/ and test/ subfolders"
    else:
        every, labels, classes = _part(root, None)
        order = np.random.default_rng(seed).permutation(len(every))
        n_test = int(np.ceil(len(every) * HELD_OUT)) if len(every) > 1 else 0
        test_rows, train_rows = sorted(order[:n_test]), sorted(order[n_test:])
        train, train_labels = [every[i] for i in train_rows], [labels[i] for i in train_rows]
        test, test_labels = [every[i] for i in test_rows], [labels[i] for i in test_rows]
        split = f"{HELD_OUT:.0%} of the images held out at random (seed {seed})"
    if not train:
        raise DataError(
            f"no images in {root}: expected {FORMATS} files, directly in it or in one subfolder per class"
        )
    files = [str(p.relative_to(root)) for p in [*train, *test]]
    return Listing(root, files, np.array(train_labels + test_labels, np.int16), len(train), classes, split)


def _open(path: Path) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # palette-with-transparency and decompression-bomb notes
        img = Image.open(path)
        img.load()
    return img


def detect_channels(listing: Listing) -> int:
    """3 when any of the first CHANNEL_PROBE readable images has colour, else 1."""
    for name in listing.files[:CHANNEL_PROBE]:
        try:
            img = _open(listing.root / name)
        except Exception:
            continue
        if img.mode in ("1", "L", "LA", "I", "I;16", "F"):
            continue
        rgb = np.asarray(img.convert("RGB"), dtype=np.int16)
        if np.abs(rgb[..., 0] - rgb[..., 1]).max() > 2 or np.abs(rgb[..., 1] - rgb[..., 2]).max() > 2:
            return 3
    return 1


@dataclass
class FolderData:
    """Images as uint8 (N, C, S, S) views of the mapped cache, labels, and what the card records."""

    train: np.ndarray
    test: np.ndarray
    train_labels: np.ndarray
    test_labels: np.ndarray
    test_files: list[str]  # relative paths, in the order of `test` (to align factors.csv)
    train_files: list[str]  # likewise for `train`
    classes: list[str] | None
    channels: int
    image_size: int
    info: dict[str, object] = field(default_factory=dict)  # the card's "data" field


def _key(listing: Listing, size: int, channels: int) -> str:
    h = hashlib.sha256(f"{listing.root.resolve()}|{size}|{channels}|{listing.split}".encode())
    for name in listing.files:
        st = (listing.root / name).stat()
        h.update(f"{name}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


def _build(listing: Listing, path: Path, size: int, channels: int) -> dict[str, object]:
    """Decode every image into the raw uint8 file `path` (kept rows only, in order, then the file
    cut after them); returns the index to store beside it."""
    n, row = len(listing.files), channels * size * size
    rows = np.memmap(path, dtype=np.uint8, mode="w+", shape=(max(1, n), channels, size, size))
    kept: list[int] = []
    skipped: list[str] = []
    for i, name in enumerate(tqdm(listing.files, desc=f"reading {listing.root.name}", mininterval=1.0,
                                  leave=False, unit="img")):
        try:
            rows[len(kept)] = resize_crop(_open(listing.root / name), size=size, channels=channels)
        except Exception as e:  # PIL raises many types for corrupt, truncated or unreadable files
            skipped.append(f"{name} ({type(e).__name__})")
            continue
        kept.append(i)
    rows.flush()
    del rows
    os.truncate(path, len(kept) * row)
    return {"kept": kept, "skipped": skipped, "shape": [len(kept), channels, size, size]}


def load_folder(
    root: Path, *, image_size: int = 28, channels: int | None = None, cache_dir: Path, seed: int = 0
) -> FolderData:
    """The folder's images through the cache (built on first use); DataError when there are none."""
    assert image_size in SIZES, f"image size must be one of {SIZES}, got {image_size}"
    listing = list_folder(root, seed=seed)
    key = _key(listing, image_size, channels or 0)  # 0: detected, and recorded in the index
    cache_dir.mkdir(parents=True, exist_ok=True)
    pixels, index_path = cache_dir / f"images-{key}.u8", cache_dir / f"images-{key}.json"
    if index_path.is_file() and pixels.is_file():
        index = json.loads(index_path.read_text())
    else:
        tmp = pixels.with_suffix(f".{os.getpid()}.tmp")
        index = _build(listing, tmp, image_size, channels or detect_channels(listing))
        os.replace(tmp, pixels)
        index_path.write_text(json.dumps(index))
    channels = int(index["shape"][1])
    kept = np.array(index["kept"], dtype=np.int64)
    skipped: list[str] = index["skipped"]
    if skipped:
        first = ", ".join(skipped[:SHOW_SKIPPED])
        log.warning("skipped %d unreadable image(s) in %s: %s", len(skipped), root, first)
    if not len(kept):
        raise DataError(f"none of the {len(listing.files)} images in {root} could be read")
    # copy-on-write: writable views (torch.from_numpy wants them), and the file never changes
    mapped = np.memmap(pixels, dtype=np.uint8, mode="c", shape=tuple(index["shape"]))
    n_train = int(np.searchsorted(kept, listing.n_train))
    labels = listing.labels[kept]
    info = {
        "path": str(root), "split": listing.split, "images": len(listing.files), "skipped": len(skipped),
        "skipped_files": skipped[:SHOW_SKIPPED],
    }
    return FolderData(
        train=mapped[:n_train], test=mapped[n_train:], train_labels=labels[:n_train],
        test_labels=labels[n_train:], test_files=[listing.files[i] for i in kept[n_train:]],
        train_files=[listing.files[i] for i in kept[:n_train]],
        classes=listing.classes, channels=channels, image_size=image_size, info=info,
    )
