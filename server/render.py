"""The one place where tensors become image bytes (PNG, GIF, data URLs)."""

from __future__ import annotations

import base64
import io

import numpy as np
import torch
from PIL import Image


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, 1, H, W) probabilities in [0, 1] -> (N, H, W) uint8."""
    return images.mul(255).round_().clamp_(0, 255).to(torch.uint8).squeeze(1).cpu().numpy()


def tile(images: torch.Tensor, cols: int, *, pad: int = 0) -> np.ndarray:
    """(N, 1, H, W) -> one (rows*H, cols*W) uint8 mosaic, row-major; empty cells stay black."""
    arr = to_uint8(images)
    n, h, w = arr.shape
    rows = -(-n // cols)
    out = np.zeros((rows * (h + pad) - pad, cols * (w + pad) - pad), dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        out[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = arr[i]
    return out


def png(array: np.ndarray, *, size: int | None = None) -> bytes:
    """A grayscale uint8 array as PNG; `size` upscales the longer edge with nearest neighbour."""
    img = Image.fromarray(array, mode="L")
    if size and size != max(array.shape):
        scale = size / max(array.shape)
        img = img.resize((round(array.shape[1] * scale), round(array.shape[0] * scale)), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def gif(frames: np.ndarray, *, duration_ms: int = 80, size: int | None = None) -> bytes:
    """(F, H, W) uint8 frames as a looping animated GIF."""
    imgs = [Image.fromarray(f, mode="L") for f in frames]
    if size:
        imgs = [im.resize((size, size), Image.NEAREST) for im in imgs]
    buf = io.BytesIO()
    imgs[0].save(buf, format="GIF", save_all=True, append_images=imgs[1:], duration=duration_ms, loop=0)
    return buf.getvalue()


def data_url(png_bytes: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes).decode("ascii")
