"""Training on a folder of images (model/folder.py, model/sources.py): classes from subfolders, the
split, grey or colour, skipped corrupt files, the memory-mapped cache, and clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model import folder as folder_module
from model.data import DataError
from model.folder import list_folder, load_folder, resize_crop

ROOT = Path(__file__).resolve().parents[2]


def make_folder(root: Path, *, colour: bool = True, corrupt: bool = True, split: bool = False) -> Path:
    """Two classes of 12 images of mixed sizes and formats: grey and, when `colour`, colour ones."""
    rng = np.random.default_rng(0)
    for part in ("train", "test") if split else ("",):
        for label, name in enumerate(("circles", "squares")):
            d = root / part / name
            d.mkdir(parents=True, exist_ok=True)
            for i in range(12 if part != "test" else 3):
                h, w = 30 + 7 * i, 50 - 2 * i
                arr = (rng.random((h, w, 3)) * 60).astype(np.uint8)
                arr[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = (200, 40 + 100 * label, 30)
                img = Image.fromarray(arr if colour and i % 2 else arr.mean(2).astype(np.uint8))
                img.save(d / f"{i}.{('png', 'jpg', 'webp', 'bmp', 'gif')[i % 5]}")
    if corrupt:
        (root / ("train" if split else "") / "circles" / "broken.png").write_bytes(
            b"\x89PNG\r\n\x1a\n" + b"\0" * 40
        )
    return root


def test_resize_crop_takes_the_centre_at_the_size() -> None:
    img = Image.new("RGB", (100, 50), (0, 0, 0))
    img.paste((255, 0, 0), (25, 0, 75, 50))  # the centre square is red, the sides black
    out = resize_crop(img, size=32, channels=3)
    assert out.shape == (3, 32, 32) and out[0].min() > 200 and out[1].max() < 30
    assert resize_crop(img, size=28, channels=1).shape == (1, 28, 28)


def test_classes_come_from_subfolders_and_a_seeded_tenth_is_held_out(tmp_path: Path) -> None:
    listing = list_folder(make_folder(tmp_path, corrupt=False), seed=3)
    assert listing.classes == ["circles", "squares"] and len(listing.files) == 24
    assert len(listing.files) - listing.n_train == 3  # ceil(10% of 24)
    assert list_folder(tmp_path, seed=3).files == listing.files  # the same split for the same seed
    assert list_folder(tmp_path, seed=4).files != listing.files


def test_train_and_test_subfolders_are_the_split(tmp_path: Path) -> None:
    listing = list_folder(make_folder(tmp_path, corrupt=False, split=True))
    assert listing.n_train == 24 and len(listing.files) == 30
    assert all(f.startswith("test/") for f in listing.files[24:]) and "train/ and test/" in listing.split


def test_images_without_subfolders_have_no_labels(tmp_path: Path) -> None:
    for i in range(5):
        Image.new("L", (20, 20), i * 40).save(tmp_path / f"{i}.png")
    data = load_folder(tmp_path, cache_dir=tmp_path / "cache")
    assert data.classes is None and set(data.train_labels.tolist()) == {-1} and data.channels == 1


def test_a_corrupt_file_is_skipped_and_counted(tmp_path: Path) -> None:
    data = load_folder(make_folder(tmp_path), image_size=32, cache_dir=tmp_path / "cache")
    assert data.info["skipped"] == 1 and "circles/broken.png" in data.info["skipped_files"][0]
    assert len(data.train) + len(data.test) == 24 and data.channels == 3
    assert data.train.shape[1:] == (3, 32, 32) and data.train.dtype == np.uint8


def test_the_cache_is_read_instead_of_the_images_the_second_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load_folder(make_folder(tmp_path), image_size=28, cache_dir=tmp_path / "cache")
    assert isinstance(first.train, np.memmap)

    def no_reading(path: Path) -> Image.Image:
        raise AssertionError(f"read {path} although the cache was there")

    monkeypatch.setattr(folder_module, "_open", no_reading)
    again = load_folder(tmp_path, image_size=28, cache_dir=tmp_path / "cache")
    assert np.array_equal(np.asarray(again.train), np.asarray(first.train))


def test_channels_can_be_overridden(tmp_path: Path) -> None:
    data = load_folder(make_folder(tmp_path), channels=1, cache_dir=tmp_path / "cache")
    assert data.channels == 1 and data.train.shape[1] == 1


@pytest.mark.parametrize("what", ["missing", "empty", "a file"])
def test_a_folder_without_images_is_one_clear_error(tmp_path: Path, what: str) -> None:
    path = tmp_path / "data"
    if what == "empty":
        path.mkdir()
    elif what == "a file":
        path.write_text("x")
    with pytest.raises(DataError, match="does not exist|no images in|is not a folder"):
        list_folder(path)


def test_training_on_a_folder_end_to_end_records_the_data_in_the_card(tmp_path: Path) -> None:
    data = make_folder(tmp_path / "pets")
    cmd = [
        sys.executable,
        "-m",
        "model.train",
        "--data",
        str(data),
        "--image-size",
        "32",
        "--arch",
        "conv",
        "--hidden",
        "16",
        "--conv-channels",
        "4,8",
        "--decoder-conv-channels",
        "2,4",
        "--latent-dim",
        "2",
        "--epochs",
        "2",
        "--batch-size",
        "8",
        "--iw-samples",
        "2",
        "--threads",
        "1",
        "--beta",
        "4",
        "--out",
        str(tmp_path / "w"),
        "--checkpoint-dir",
        str(tmp_path / "c"),
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "skipped 1 unreadable image" in proc.stderr
    card = json.loads((tmp_path / "w" / "pets-z2.json").read_text())
    assert (card["channels"], card["image_size"], card["preprocessing"]) == (3, 32, "resize-crop")
    assert card["class_names"] == ["circles", "squares"] and card["beta"] == 4 and card["dataset"] == "pets"
    assert card["data"]["skipped"] == 1 and card["data"]["path"] == str(data)
    assert "--beta 4" in card["command"] and "--image-size 32" in card["command"]
    assert card["config"]["decoder_channels"] == [2, 4] and "--decoder-conv-channels 2,4" in card["command"]


@pytest.mark.parametrize("what", ["missing", "empty"])
def test_training_on_a_folder_without_images_exits_with_one_error(tmp_path: Path, what: str) -> None:
    path = tmp_path / "nothing"
    if what == "empty":
        path.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "model.train", "--data", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 and proc.stderr.strip().count("\n") == 0
    assert proc.stderr.startswith("error: ") and str(path) in proc.stderr
