"""server.render: PNG bytes that any decoder reads back exactly, small images stored, large ones
compressed; probabilities rounded to the nearest of 256 levels."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from server import render


def read_back(png: bytes) -> np.ndarray:
    img = Image.open(io.BytesIO(png))
    img.load()
    assert img.mode == "L"
    return np.asarray(img)


def idat(png: bytes) -> bytes:
    start = png.index(b"IDAT") + 4
    length = int.from_bytes(png[start - 8 : start - 4], "big")
    return png[start : start + length]


@pytest.mark.parametrize("shape", [(28, 28), (1, 1), (3, 100), (64, 63), (64, 64), (560, 560)])
def test_png_reads_back_to_the_same_pixels(shape: tuple[int, int]) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    assert (read_back(render.png(pixels)) == pixels).all()


def test_a_small_image_is_stored_and_a_large_one_compressed() -> None:
    small, large = np.zeros((28, 28), np.uint8), np.zeros((280, 280), np.uint8)
    stored = zlib.decompressobj()
    assert stored.decompress(idat(render.png(small))) == bytes(28 * 29)
    assert idat(render.png(small))[2] == 1  # one final stored block (BFINAL=1, BTYPE=00)
    assert len(render.png(large)) < 280 * 281 // 10


def test_png_upscales_with_nearest_neighbour() -> None:
    pixels = np.arange(4, dtype=np.uint8).reshape(2, 2) * 60
    big = read_back(render.png(pixels, size=6))
    assert big.shape == (6, 6)
    assert (big[:3, :3] == 0).all() and (big[3:, 3:] == 180).all()


def test_to_uint8_rounds_to_the_nearest_level_and_drops_the_channel() -> None:
    probs = torch.tensor([0.0, 0.5 / 255 - 1e-4, 0.5 / 255 + 1e-4, 0.5, 1.0]).reshape(1, 1, 1, 5)
    assert render.to_uint8(probs).tolist() == [[[0, 0, 1, 128, 255]]]


@pytest.mark.parametrize("n, cols", [(400, 20), (7, 3), (1, 4), (6, 6)])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_tile_puts_image_i_at_row_i_div_cols_column_i_mod_cols(
    n: int, cols: int, channels: int, layout: torch.memory_format
) -> None:
    images = torch.rand(n, channels, 5, 4, generator=torch.Generator().manual_seed(n))
    images = images.contiguous(memory_format=layout)
    mosaic = render.tile(images, cols)
    cells = render.to_uint8(images)
    rows = -(-n // cols)
    assert mosaic.shape[:2] == (rows * 5, cols * 4)
    for i in range(rows * cols):
        r, c = divmod(i, cols)
        cell = mosaic[r * 5 : r * 5 + 5, c * 4 : c * 4 + 4]
        assert np.array_equal(cell, cells[i]) if i < n else not cell.any()
