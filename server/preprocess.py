"""Turn an uploaded image into an MNIST-style digit: what the encoder was trained on.

MNIST (LeCun et al.): white ink on black, the digit scaled to fit a 20x20 box with anti-aliasing,
then placed in the 28x28 field so that its centre of mass is at the centre. Uploads are photos and
drawings, dark ink on light paper, any size, any mode, so each step here undoes one difference.
PIL and numpy only; failures raise `UploadError`, whose message a user can act on.
"""

from __future__ import annotations

import io
import re
import warnings

import numpy as np
from PIL import Image, ImageOps

from model import folder

ACCEPTED = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
ACCEPTED_TEXT = "PNG, JPEG, GIF, BMP or WebP"
INK_THRESHOLD = 0.25  # after normalising to [0, 1]: fainter pixels are paper noise, not ink
WORK_EDGE = 1024  # shrink larger uploads to this before the float math: a digit needs far fewer


class UploadError(ValueError):
    """A bad upload; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def open_image(data: bytes, *, max_pixels: int) -> Image.Image:
    """Identify and fully decode `data`, refusing oversized images before their pixels are decoded."""
    if not data:
        raise UploadError(422, f"the upload is empty; expected a {ACCEPTED_TEXT} image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we apply our own cap
            img = Image.open(io.BytesIO(data), formats=ACCEPTED)  # reads the header only
    except Image.DecompressionBombError as e:  # beyond PIL's own cap, which is above ours
        count = re.search(r"\((\d+) pixels\)", str(e))
        size = f"{int(count.group(1)):,} pixels" if count else "too large"
        raise UploadError(413, f"the image is {size}; the limit is {max_pixels:,} pixels") from None
    except Exception:  # PIL raises many exception types on malformed data
        raise UploadError(415, f"{_describe(data)}; expected a {ACCEPTED_TEXT} image") from None
    w, h = img.size
    if w * h > max_pixels:
        raise UploadError(413, f"the image is {w}x{h} = {w * h:,} pixels; the limit is {max_pixels:,} pixels")
    try:
        img.load()
    except Exception as e:  # truncated files, corrupt chunks, bad Huffman tables, ...
        raise UploadError(
            422, f"could not decode the {img.format} image ({e}); is the file complete?"
        ) from None
    return img


def _describe(data: bytes) -> str:
    """Name the format of bytes that are not an accepted image, if PIL knows it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            fmt = Image.open(io.BytesIO(data)).format  # header only; never decoded
    except Exception:
        return "the upload is not a recognised image"
    return f"{fmt} images are not accepted"


def to_gray(img: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Any PIL mode -> (gray, alpha) as float32 arrays in [0, 1]; alpha is None when opaque."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):  # 16/32-bit: PIL's "L" would clip
        arr = np.asarray(img, dtype=np.float32)
        top = 65535.0 if arr.max(initial=0) > 255 else 255.0
        return np.clip(arr / top, 0, 1), None
    has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
    if has_alpha:
        la = np.asarray(img.convert("RGBA").convert("LA"), dtype=np.float32) / 255
        gray, alpha = la[..., 0], la[..., 1]
        return gray, (None if alpha.min() == 1 else alpha)
    if img.mode == "CMYK":
        img = img.convert("RGB")
    return np.asarray(img.convert("L"), dtype=np.float32) / 255, None


def composite(gray: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """Flatten transparency onto a background that contrasts with the visible ink, so that both
    black strokes and white strokes on a transparent canvas stay visible."""
    if alpha is None:
        return gray
    weight = alpha.sum()
    ink = float((gray * alpha).sum() / weight) if weight > 0 else 0.0
    background = 1.0 if ink < 0.5 else 0.0
    return gray * alpha + background * (1 - alpha)


def normalise(x: np.ndarray) -> np.ndarray:
    """White ink on black, the paper at 0 and the darkest ink at 1."""
    border = np.concatenate([x[0], x[-1], x[:, 0], x[:, -1]])
    if np.median(border) > 0.5:  # light paper: MNIST has light ink on black
        x, border = 1 - x, 1 - border
    paper = float(np.median(border))
    peak = float(x.max())
    if peak - paper < 1e-3:
        return np.zeros_like(x)  # a blank image: nothing to scale
    return np.clip((x - paper) / (peak - paper), 0, 1)


def orient(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag (phones store portrait photos sideways plus a tag)."""
    try:
        return ImageOps.exif_transpose(img) or img
    except Exception:  # a corrupt EXIF block: keep the pixels as stored
        return img


def shrink(img: Image.Image) -> Image.Image:
    """Large uploads first shrink (box filter, aspect kept) so the float math stays small."""
    if max(img.size) <= WORK_EDGE:
        return img
    if img.mode not in ("L", "LA", "RGB", "RGBA", "F"):
        img = img.convert("F") if img.mode.startswith("I") else img.convert("RGBA")
    img = img.copy()
    img.thumbnail((WORK_EDGE, WORK_EDGE), Image.Resampling.BOX)
    return img


def fit(x: np.ndarray, box: int) -> np.ndarray:
    """Crop to the ink and scale, aspect kept, so that the longer side is `box` pixels."""
    rows, cols = np.nonzero(x > INK_THRESHOLD)
    x = x[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    h, w = x.shape
    scale = box / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    out = Image.fromarray(x.astype(np.float32), mode="F").resize(size, Image.Resampling.LANCZOS)
    return np.clip(np.asarray(out), 0, 1)


def centre(x: np.ndarray, canvas: int) -> np.ndarray:
    """Paste into a canvas x canvas field with the centre of mass at the field's centre."""
    h, w = x.shape
    mass = x.sum()
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx = (yy * x).sum() / mass, (xx * x).sum() / mass
    # MNIST's centres of mass sit at pixel index canvas/2 (14.0 for 28x28); keep the box inside
    top = int(np.clip(round(canvas / 2 - cy), 0, canvas - h))
    left = int(np.clip(round(canvas / 2 - cx), 0, canvas - w))
    out = np.zeros((canvas, canvas), dtype=np.float32)
    out[top : top + h, left : left + w] = x
    return out


def preprocess(img: Image.Image, *, canvas: int = 28, box: int = 20) -> np.ndarray:
    """A decoded upload -> (canvas, canvas) float32 in [0, 1], MNIST-style; blank in, blank out."""
    x = normalise(composite(*to_gray(shrink(orient(img)))))  # animations: the first frame
    if not (x > INK_THRESHOLD).any():
        return np.zeros((canvas, canvas), dtype=np.float32)
    return centre(fit(x, box), canvas)



def resize_crop(img: Image.Image, *, size: int, channels: int) -> np.ndarray:
    """An upload -> (channels, size, size) float32 in [0, 1], prepared as a folder's images were for
    training (model/folder.py's resize_crop), after a very large upload is shrunk."""
    return folder.resize_crop(shrink(img), size=size, channels=channels).astype(np.float32) / 255
