"""Shared by the API tests: tiny models, test images, and assertions that an answer is a real image
or a readable JSON error."""

from __future__ import annotations

import asyncio
import functools
import io
import struct
import zlib
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import httpx2 as httpx
import numpy as np
import torch
from PIL import Image, ImageDraw

from model import store
from model.vae import VAE, VAEConfig
from server.settings import Settings

T = TypeVar("T")
P = ParamSpec("P")

# name -> config: an MLP with a 2-D latent space (the default model) and a small conv net with 10
TINY = {
    "tiny-z2": VAEConfig(latent_dim=2, arch="mlp", hidden=(16,)),
    "tiny-z10": VAEConfig(latent_dim=10, arch="conv", hidden=(16,), channels=(4, 8)),
}


def save_tiny_models(folder: Path) -> Path:
    """Random (untrained) tiny models in `folder`: the API tests never depend on shipped weights."""
    for i, (name, config) in enumerate(TINY.items()):
        torch.manual_seed(i)
        store.save(VAE(config), folder / name, {"dataset": "mnist", "placeholder": True})
    return folder


def tiny_settings(weights: Path) -> Settings:
    return Settings(weights_dir=weights, default_model="tiny-z2", device="cpu")


def in_own_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion on a fresh event loop in its own thread: the browser tests' sync
    Playwright keeps a loop running in the main thread for the whole session, where neither
    asyncio.run nor pytest-asyncio can start another."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def own_loop(test: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, None]:
    """Decorate an `async def` test to run it with `in_own_loop` (its fixtures still arrive)."""

    @functools.wraps(test)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        in_own_loop(test(*args, **kwargs))

    return run


def image_of(response: httpx.Response, media_type: str = "image/png") -> Image.Image:
    """The answer's image, fully decoded; fails unless it is a 200 of `media_type`."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == media_type
    img = Image.open(io.BytesIO(response.content))
    img.load()
    assert img.format == media_type.split("/")[1].upper()
    return img


def detail_of(response: httpx.Response, status: int) -> str:
    """The error's readable detail; fails unless it is a JSON `status` with a string detail."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail
    return detail


def encoded(img: Image.Image, format: str = "PNG", **save: Any) -> bytes:
    """`img` as the bytes of an image file, as a user would upload it."""
    buf = io.BytesIO()
    img.save(buf, format=format, **save)
    return buf.getvalue()


def digit(
    size: int = 300, *, ink: int = 0, paper: int = 255, box: tuple[int, int, int, int] | None = None
) -> Image.Image:
    """A hand-drawn-looking '7' with a crossbar (not symmetric, so a flip or rotation shows), in
    grayscale `ink` on `paper`, drawn inside `box` (default: the left-upper part, off-centre)."""
    img = Image.new("L", (size, size), paper)
    x0, y0, x1, y1 = box or (size // 10, size // 8, size * 6 // 10, size * 8 // 10)
    w = max(1, (x1 - x0) // 8)
    draw = ImageDraw.Draw(img)
    draw.line([(x0, y0), (x1, y0), (x0 + (x1 - x0) // 3, y1)], fill=ink, width=w, joint="curve")
    draw.line(
        [(x0 + (x1 - x0) // 4, (y0 + y1) // 2), (x1 - (x1 - x0) // 8, (y0 + y1) // 2)], fill=ink, width=w
    )
    return img


def as_mode(img: Image.Image, mode: str) -> Image.Image:
    if mode == "I;16":
        return Image.fromarray(np.asarray(img).astype(np.uint16) * 257)
    if mode == "P":
        return img.convert("RGB").quantize(4)
    return img.convert(mode)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny valid PNG whose header claims another size: a decompression bomb's first bytes."""
    data = encoded(Image.new("L", (1, 1)))
    ihdr = struct.pack(">II", width, height) + data[24:29]
    chunk = b"IHDR" + ihdr
    return data[:12] + chunk + struct.pack(">I", zlib.crc32(chunk)) + data[33:]
