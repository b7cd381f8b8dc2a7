"""A generated data set of coloured shapes whose factors of variation are known, like dSprites
(Matthey et al., 2017) and 3D Shapes (Burgess and Kim, 2018):

    python -m model.shapes OUT --n 100000 --seed 0

Each image is 64x64 RGB: one shape in one fully saturated colour on black. Six factors are drawn
independently and uniformly from discrete grids (`GRIDS`), so that each has a known, finite entropy and
the mutual information between a latent dimension and a factor (model/factors.py) is well defined:

- shape: square, circle or triangle;
- hue: 10 values around the HSV wheel, at full saturation and value;
- scale: 6 sizes, the side in pixels of the square with the same area (so every shape of one scale
  covers the same number of pixels; a circle's rotation cannot be seen, as in dSprites' ellipse);
- rotation: 16 angles in [0, pi/2), the square's period, in radians, clockwise on screen;
- x, y: 16 positions each, in pixel indices from the top-left corner (column x, row y); the grid
  keeps the largest shape inside the frame at every rotation.

OUT is an ordinary image folder, one subfolder per shape (`OUT/square/000123.png`), as torchvision's
ImageFolder reads it, with `OUT/factors.csv` (`file,shape,hue,scale,rotation,x,y`) beside them.
Shapes are drawn as signed distances on the pixel grid with a one-pixel soft edge, which anti-aliases
without supersampling and keeps each shape's area exact; PNGs are written by `encode_pngs` (zlib level
1, five times faster than PIL here) in a pool of worker processes. The same seed gives the same files.
"""

from __future__ import annotations

import argparse
import math
import struct
import sys
import time
import zlib
from dataclasses import dataclass
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path

import numpy as np

SIZE = 64
SHAPES = ("square", "circle", "triangle")
COLUMNS = ("shape", "hue", "scale", "rotation", "x", "y")
# Circumradius per unit of scale, so that each shape has the area of a square of side `scale`.
CIRCUMRADIUS = {"square": math.sqrt(0.5), "circle": 1 / math.sqrt(math.pi),
                "triangle": math.sqrt(4 / (3 * math.sqrt(3)))}
SCALES = (8.0, 10.0, 12.0, 14.0, 16.0, 18.0)
POSITIONS = tuple(16.5 + 2.0 * k for k in range(16))  # 16.5 .. 46.5, symmetric about 31.5
GRIDS: dict[str, tuple[float, ...]] = {
    "hue": tuple(k / 10 for k in range(10)),
    "scale": SCALES,
    "rotation": tuple(k * math.pi / 32 for k in range(16)),
    "x": POSITIONS,
    "y": POSITIONS,
}
CHUNK = 500  # images per task for a worker


@dataclass(frozen=True)
class Factors:
    """One row per image: the shape as an index into SHAPES, the others in their own units."""

    shape: np.ndarray  # (N,) int
    hue: np.ndarray  # (N,) float in [0, 1)
    scale: np.ndarray  # (N,) float, pixels
    rotation: np.ndarray  # (N,) float, radians
    x: np.ndarray  # (N,) float, pixels
    y: np.ndarray  # (N,) float, pixels

    def __len__(self) -> int:
        return len(self.shape)

    def rows(self, which: slice | np.ndarray) -> Factors:
        return Factors(*(getattr(self, c)[which] for c in COLUMNS))


def sample(n: int, seed: int) -> Factors:
    """n independent draws, each factor uniform over its grid."""
    rng = np.random.default_rng(seed)
    shape = rng.integers(len(SHAPES), size=n)
    rest = [np.asarray(GRIDS[c])[rng.integers(len(GRIDS[c]), size=n)] for c in COLUMNS[1:]]
    return Factors(shape, *rest)


def hue_to_rgb(hue: np.ndarray) -> np.ndarray:
    """HSV (hue, 1, 1) to RGB in [0, 1]: (N,) -> (N, 3)."""
    k = (hue[:, None] * 6 + np.array([0.0, 4.0, 2.0])) % 6
    return np.clip(np.abs(k - 3) - 1, 0, 1)


def signed_distance(shape: str, u: np.ndarray, v: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Distance in pixels to the edge of a shape centred at the origin of its own frame (u, v),
    negative inside. Polygons take the largest distance to their edges' lines: exact inside and
    along the edges, a little short outside the corners, which only softens a corner's antialiasing."""
    if shape == "circle":
        return np.sqrt(u * u + v * v) - radius
    if shape == "square":
        return np.maximum(np.abs(u), np.abs(v)) - radius * math.sqrt(0.5)
    # Triangle, a vertex up at rotation 0: edge normals at 90, 210 and 330 degrees, inradius R / 2.
    s = math.sqrt(3) / 2
    return np.maximum(np.maximum(v, -s * u - 0.5 * v), s * u - 0.5 * v) - radius * 0.5


def window(factors: Factors) -> tuple[np.ndarray, np.ndarray, int]:
    """Each shape is drawn in a square window around its centre, a quarter of the image, and
    pasted: (N,) top-left column and row of the window, and its width."""
    # The farthest a soft edge reaches: half a pixel past an edge, a pixel past a polygon's corner.
    reach = max(SCALES) * max(CIRCUMRADIUS.values()) + 1
    width = math.ceil(2 * reach) + 1
    left = np.clip(np.floor(factors.x - reach), 0, SIZE - width).astype(int)
    top = np.clip(np.floor(factors.y - reach), 0, SIZE - width).astype(int)
    return left, top, width


def coverage(factors: Factors, name: str, left: np.ndarray, top: np.ndarray, width: int) -> np.ndarray:
    """How much of each pixel of the windows one shape covers, in [0, 1]: (N, width, width)."""
    coords = np.arange(width, dtype=np.float32)
    dx = coords[None, None, :] + (left - factors.x).astype(np.float32)[:, None, None]  # (N, 1, W)
    dy = coords[None, :, None] + (top - factors.y).astype(np.float32)[:, None, None]  # (N, W, 1)
    cos = np.cos(factors.rotation).astype(np.float32)[:, None, None]
    sin = np.sin(factors.rotation).astype(np.float32)[:, None, None]
    u, v = dx * cos + dy * sin, dy * cos - dx * sin  # the shape's own frame: (N, W, W)
    radius = (factors.scale * CIRCUMRADIUS[name]).astype(np.float32)[:, None, None]
    return np.clip(0.5 - signed_distance(name, u, v, radius), 0, 1)  # a one-pixel soft edge


def render(factors: Factors) -> np.ndarray:
    """The images of a batch of factors: (N, 64, 64, 3) uint8."""
    left, top, width = window(factors)
    alpha = np.empty((len(factors), width, width), dtype=np.float32)
    for k, name in enumerate(SHAPES):
        rows = np.flatnonzero(factors.shape == k)
        alpha[rows] = coverage(factors.rows(rows), name, left[rows], top[rows], width)
    colour = (hue_to_rgb(factors.hue) * 255).astype(np.float32)[:, None, None, :]
    drawn = (alpha[..., None] * colour + 0.5).astype(np.uint8)  # (N, W, W, 3)
    # Paste every window at once: the flat index of each window pixel in the batch of images.
    corner = (np.arange(len(factors)) * SIZE + top) * SIZE + left  # (N,)
    offsets = (np.arange(width)[:, None] * SIZE + np.arange(width)).ravel()  # (W * W,)
    images = np.zeros((len(factors) * SIZE * SIZE, 3), dtype=np.uint8)
    images[(corner[:, None] + offsets).ravel()] = drawn.reshape(-1, 3)
    return images.reshape(len(factors), SIZE, SIZE, 3)


def encode_pngs(images: np.ndarray) -> list[bytes]:
    """(N, H, W, 3) uint8 images as 8-bit RGB PNGs, rows unfiltered, zlib level 1."""
    n, h, w, _ = images.shape
    raw = np.zeros((n, h, w * 3 + 1), dtype=np.uint8)  # each row starts with filter type 0
    raw[:, :, 1:] = images.reshape(n, h, w * 3)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    start = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))  # truecolour
    end = chunk(b"IEND", b"")
    return [start + chunk(b"IDAT", zlib.compress(r.tobytes(), 1)) + end for r in raw]


def file_names(factors: Factors, start: int, width: int) -> list[str]:
    """Paths relative to OUT: `<shape>/<index>.png`."""
    return [f"{SHAPES[s]}/{start + i:0{width}d}.png" for i, s in enumerate(factors.shape)]


def write_chunk(task: tuple[Path, Factors, int, int]) -> int:
    out, factors, start, width = task
    for name, png in zip(file_names(factors, start, width), encode_pngs(render(factors)), strict=True):
        with open(f"{out}/{name}", "wb") as f:
            f.write(png)
    return len(factors)


def csv_rows(factors: Factors, names: list[str]) -> list[str]:
    values = zip(names, factors.shape, factors.hue, factors.scale, factors.rotation, factors.x, factors.y,
                 strict=True)
    # repr: the shortest text that reads back as the same float, so factors.csv round-trips exactly
    return [",".join((n, SHAPES[s], *(repr(float(v)) for v in rest))) for n, s, *rest in values]


def write_factors(out: Path, factors: Factors, names: list[str]) -> None:
    lines = [",".join(("file", *COLUMNS)), *csv_rows(factors, names)]
    (out / "factors.csv").write_text("\n".join(lines) + "\n")


def generate(out: Path, n: int, seed: int, workers: int = 2) -> None:
    """Write n images and their factors.csv into out, which must be empty or not exist."""
    assert n > 0, f"n must be at least 1, got {n}"
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} exists and is not an empty folder; name a new one or remove it")
    factors = sample(n, seed)
    width = max(6, len(str(n - 1)))
    for name in SHAPES:
        (out / name).mkdir(parents=True, exist_ok=True)
    tasks = [(out, factors.rows(slice(i, i + CHUNK)), i, width) for i in range(0, n, CHUNK)]
    if workers <= 1 or len(tasks) == 1:
        for task in tasks:
            write_chunk(task)
    else:  # fork where there is one: a spawned worker would import the model package, torch and all
        method = "fork" if "fork" in get_all_start_methods() else "spawn"
        with get_context(method).Pool(workers) as pool:
            for _ in pool.imap_unordered(write_chunk, tasks):
                pass
    write_factors(out, factors, file_names(factors, 0, width))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.shapes", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="a new or empty folder")
    parser.add_argument("--n", type=int, default=100_000, help="number of images (default 100000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="processes that render and write (default 2)")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"--n must be at least 1, got {args.n}")
    start = time.perf_counter()
    try:
        generate(args.out, args.n, args.seed, workers=args.workers)
    except FileExistsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.n} images and factors.csv to {args.out} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
