"""The shapes data set: its pixels agree with its factors, and it is an ordinary image folder."""

from __future__ import annotations

import colorsys
import csv
import io
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model import factors, shapes
from model.factors import read_factors
from model.folder import detect_channels, list_folder
from model.shapes import GRIDS, SCALES, SHAPES, Factors


@pytest.fixture(scope="module")
def drawn() -> tuple[Factors, np.ndarray]:
    factors = shapes.sample(400, seed=3)
    return factors, shapes.render(factors)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shapes") / "set"
    shapes.generate(out, 300, seed=1, workers=2)
    return out


def one(shape: str, scale: float = 12.0, rotation: float = 0.0, x: float = 31.5, y: float = 31.5,
        hue: float = 0.0) -> Factors:
    return Factors(np.array([SHAPES.index(shape)]), np.array([hue]), np.array([scale]),
                   np.array([rotation]), np.array([x]), np.array([y]))


def coverage(image: np.ndarray) -> np.ndarray:
    """How much of each pixel the shape covers, from the brightest channel: (64, 64) in [0, 1]."""
    bright = image.max(axis=2).astype(float)
    return bright / bright.max()


def read_rows(out: Path) -> list[dict[str, str]]:
    with open(out / "factors.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_images_are_64_pixel_rgb_on_black(drawn: tuple[Factors, np.ndarray]) -> None:
    _, images = drawn
    assert images.shape == (400, 64, 64, 3) and images.dtype == np.uint8
    assert (images[:, :2, :2] == 0).all()  # corners are background


def test_the_centroid_of_the_pixels_is_x_and_y(drawn: tuple[Factors, np.ndarray]) -> None:
    factors, images = drawn
    rows, cols = np.mgrid[0:64, 0:64]
    for i, image in enumerate(images):
        a = coverage(image)
        cx, cy = (a * cols).sum() / a.sum(), (a * rows).sum() / a.sum()
        assert abs(cx - factors.x[i]) < 0.3 and abs(cy - factors.y[i]) < 0.3, (i, cx, cy)


def test_the_mean_colour_has_the_hue(drawn: tuple[Factors, np.ndarray]) -> None:
    factors, images = drawn
    for i, image in enumerate(images):
        mean = image[image.max(axis=2) > 0].mean(axis=0) / 255
        h, s, _ = colorsys.rgb_to_hsv(*mean)
        gap = abs(h - factors.hue[i])
        assert min(gap, 1 - gap) < 0.005 and s > 0.99, (i, h, factors.hue[i])


@pytest.mark.parametrize("shape", SHAPES)
def test_the_area_grows_with_scale_and_is_the_same_for_every_shape(shape: str) -> None:
    areas = [coverage(shapes.render(one(shape, scale=s, rotation=0.3))[0]).sum() for s in SCALES]
    assert all(b > a for a, b in zip(areas, areas[1:], strict=False)), areas
    for area, scale in zip(areas, SCALES, strict=True):  # the area of a square of side `scale`
        assert area == pytest.approx(scale**2, rel=0.03)


@pytest.mark.parametrize("rotation", GRIDS["rotation"][::3])
def test_a_triangle_points_where_its_rotation_says(rotation: float) -> None:
    """At rotation 0 a vertex points up; a rotation turns it clockwise on screen."""
    a = coverage(shapes.render(one("triangle", scale=18.0, rotation=rotation))[0])
    rows, cols = np.nonzero(a > 0.5)
    far = np.argmax((cols - 31.5) ** 2 + (rows - 31.5) ** 2)
    angle = math.atan2(rows[far] - 31.5, cols[far] - 31.5)  # y down: clockwise from +x
    vertices = [-math.pi / 2 + rotation + k * 2 * math.pi / 3 for k in range(3)]
    assert min(abs(math.remainder(angle - v, 2 * math.pi)) for v in vertices) < 0.12


def test_a_square_turns_with_its_rotation() -> None:
    upright, turned = (coverage(shapes.render(one("square", scale=18.0, rotation=r))[0])
                       for r in (0, math.pi / 4))
    rows, _ = np.nonzero(upright > 0.5)
    rows_turned, _ = np.nonzero(turned > 0.5)
    assert np.ptp(rows_turned) > np.ptp(rows) * 1.3  # a diamond is taller than the upright square


def test_the_largest_shape_stays_inside_the_frame_at_every_position_and_rotation() -> None:
    edge = [min(GRIDS["x"]), max(GRIDS["x"])]
    for shape in SHAPES:
        centred = coverage(shapes.render(one(shape, scale=max(SCALES)))[0]).sum()
        for rotation in GRIDS["rotation"]:
            for x in edge:
                for y in edge:
                    image = shapes.render(one(shape, scale=max(SCALES), rotation=rotation, x=x, y=y))[0]
                    assert coverage(image).sum() == pytest.approx(centred, rel=0.02), (shape, rotation, x, y)


def test_factors_cover_every_grid_value_evenly() -> None:
    factors = shapes.sample(6000, seed=0)
    assert np.bincount(factors.shape).min() > 6000 / 3 * 0.9
    for name, grid in GRIDS.items():
        values, counts = np.unique(getattr(factors, name), return_counts=True)
        assert np.allclose(values, sorted(grid))
        assert counts.min() > 6000 / len(grid) * 0.7, name


def test_factors_are_independent_of_each_other() -> None:
    drawn = shapes.sample(20000, seed=0)
    codes = [drawn.shape, *(np.searchsorted(sorted(GRIDS[c]), getattr(drawn, c)) for c in GRIDS)]
    for i in range(len(codes)):
        for j in range(i + 1, len(codes)):  # bias alone is (levels_i - 1)(levels_j - 1) / 2N <= 0.006
            assert factors.mutual_information(codes[i], codes[j]) < 0.01, (i, j)


def test_the_same_seed_draws_the_same_images() -> None:
    a, b, c = (shapes.render(shapes.sample(50, seed=s)) for s in (7, 7, 8))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_encode_pngs_decode_to_the_same_pixels(drawn: tuple[Factors, np.ndarray]) -> None:
    _, images = drawn
    for png, image in zip(shapes.encode_pngs(images[:3]), images[:3], strict=True):
        decoded = Image.open(io.BytesIO(png))
        assert decoded.mode == "RGB" and decoded.size == (64, 64)
        assert np.array_equal(np.asarray(decoded), image)


def test_the_folder_has_one_subfolder_per_shape_and_a_factors_csv(folder: Path) -> None:
    """The layout torchvision's ImageFolder reads: classes are the subfolders; no train/ or test/,
    so a trainer holds out its own seeded 10%."""
    assert sorted(p.name for p in folder.iterdir()) == sorted([*SHAPES, "factors.csv"])
    for shape in SHAPES:
        assert all(p.suffix == ".png" and p.is_file() for p in (folder / shape).iterdir())


def test_factors_csv_names_every_file_once_with_its_factors(folder: Path) -> None:
    rows = read_rows(folder)
    assert list(rows[0]) == ["file", "shape", "hue", "scale", "rotation", "x", "y"]
    files = sorted(p.relative_to(folder).as_posix() for p in folder.glob("*/*.png"))
    assert sorted(r["file"] for r in rows) == files and len(files) == 300


def test_each_file_holds_the_image_its_factors_render(folder: Path) -> None:
    rows = read_rows(folder)[:40]
    numbers = (np.array([float(r[c]) for r in rows]) for c in ("hue", "scale", "rotation", "x", "y"))
    factors = Factors(np.array([SHAPES.index(r["shape"]) for r in rows]), *numbers)
    for row, image in zip(rows, shapes.render(factors), strict=True):
        assert row["file"].split("/")[0] == row["shape"]
        assert np.array_equal(np.asarray(Image.open(folder / row["file"]).convert("RGB")), image)


def test_a_shape_subfolder_holds_only_that_shape(folder: Path) -> None:
    """Told apart by pixels alone: how far a shape reaches from its centroid, per square root of its
    area (circle 0.56, square 0.71, triangle 0.88). A pixel the edge crosses places it by its coverage."""
    reach = {"circle": 1 / math.sqrt(math.pi), "square": math.sqrt(0.5), "triangle": 0.877}
    rows, cols = np.mgrid[0:64, 0:64]
    for shape in SHAPES:
        for path in sorted((folder / shape).iterdir()):
            a = coverage(np.asarray(Image.open(path)))
            cx, cy = (a * cols).sum() / a.sum(), (a * rows).sum() / a.sum()
            edge = np.sqrt((cols - cx) ** 2 + (rows - cy) ** 2) + a - 0.5
            seen = edge[a > 0].max() / math.sqrt(a.sum())
            assert min(reach, key=lambda s: abs(reach[s] - seen)) == shape, (path, seen)


def test_the_same_seed_writes_the_same_folder(folder: Path, tmp_path: Path) -> None:
    shapes.generate(tmp_path / "again", 300, seed=1, workers=1)
    assert (tmp_path / "again" / "factors.csv").read_bytes() == (folder / "factors.csv").read_bytes()
    name = read_rows(folder)[5]["file"]
    assert (tmp_path / "again" / name).read_bytes() == (folder / name).read_bytes()


def test_the_command_refuses_a_folder_that_is_not_empty(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert shapes.main([str(folder), "--n", "10"]) == 2
    assert "not an empty folder" in capsys.readouterr().err


def test_the_command_writes_n_images(tmp_path: Path) -> None:
    assert shapes.main([str(tmp_path / "out"), "--n", "12", "--seed", "4", "--workers", "1"]) == 0
    assert len(read_rows(tmp_path / "out")) == 12 == len(list((tmp_path / "out").glob("*/*.png")))


def test_the_trainer_reads_the_folder_as_three_colour_classes_with_a_tenth_held_out(folder: Path) -> None:
    listing = list_folder(folder, seed=0)
    assert listing.classes == sorted(SHAPES)
    assert len(listing.files) == 300 and len(listing.files) - listing.n_train == 30
    for name, label in zip(listing.files, listing.labels, strict=True):
        assert Path(name).parent.name == listing.classes[label]
    assert detect_channels(listing) == 3
    test_files = listing.files[listing.n_train:]
    codes = read_factors(folder).rows(test_files)  # every held-out image has its factors
    assert codes.shape == (30, 6)
