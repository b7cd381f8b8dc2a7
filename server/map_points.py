"""The latent map's points in a compact binary form, and atlases of the images behind them.

The binary body (`GET /encodings?format=binary`), little-endian:

    b"VAEM"  uint32 H  header: H bytes of UTF-8 JSON, padded with spaces to a multiple of 4
    means:   the (N, d) float16 means of every split, test first, column by column (dimension 0's N
             values, then dimension 1's, ...), as two byte planes: every value's low byte, then every
             value's high byte
    labels:  N uint8 class indices, in the same order

The header names the model, the data set, `latent_dim`, `class_names`, the splits in order with their
counts, and the test split's PCA (components, mean, explained variance) when latent_dim > 2: the page
projects every point itself. Float16 is what the cache stores, so the page sees exactly the JSON's
values; split into byte planes, the high bytes (sign, exponent, top of the mantissa) compress well:
70,000 x 10 means are 1.2 MB gzipped, against 1.37 MB for the same values interleaved.
"""

from __future__ import annotations

import json
import struct

import numpy as np
import torch

from model.encodings import Entry
from server import render

MAGIC = b"VAEM"
ATLAS_COLUMNS = 16  # tiles per row of an atlas
MAX_ATLAS = 256  # most images in one atlas


def pack(name: str, splits: dict[str, Entry], class_names: list[str]) -> bytes:
    """The binary body for `splits` (split name -> its encodings, test first)."""
    test = splits["test"]
    encs = [entry.encodings for entry in splits.values()]
    means = np.concatenate([e.means for e in encs]).astype("<f2")
    labels = np.concatenate([e.labels for e in encs]).astype(np.uint8)
    pca = test.pca
    header = {
        "format": 1,
        "model": name,
        "dataset": test.encodings.dataset,
        "latent_dim": test.encodings.latent_dim,
        "count": len(means),
        "class_names": class_names,
        "splits": [{"name": split, "count": entry.encodings.count} for split, entry in splits.items()],
        "pca": None if pca is None else {
            "components": pca.components.tolist(),
            "mean": pca.mean.tolist(),
            "explained_variance_ratio": pca.explained.tolist(),
        },
    }
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)
    planes = np.ascontiguousarray(means.T).view(np.uint8).reshape(-1, 2).T  # (2, d*N): low, high
    return b"".join((MAGIC, struct.pack("<I", len(text)), text, planes.tobytes(), labels.tobytes()))


def unpack(body: bytes) -> tuple[dict, np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    """(header, (N, d) float16 means, (N,) uint8 labels) of a `pack`ed body (for tests and clients)."""
    assert body[:4] == MAGIC, "not a packed map body"
    (size,) = struct.unpack("<I", body[4:8])
    header = json.loads(body[8 : 8 + size])
    n, d = header["count"], header["latent_dim"]
    start = 8 + size
    planes = np.frombuffer(body, np.uint8, 2 * n * d, start).reshape(2, n * d)
    means = np.ascontiguousarray(planes.T).view("<f2").reshape(d, n).T
    labels = np.frombuffer(body, np.uint8, n, start + 2 * n * d)
    return header, means, labels


def atlas(images: torch.Tensor) -> bytes:
    """(N, C, H, W) images in [0, 1] -> one PNG, ATLAS_COLUMNS tiles a row, in order."""
    return render.png(render.tile(images, min(ATLAS_COLUMNS, len(images))))


def as_images(pixels: np.ndarray) -> torch.Tensor:
    """(N, H, W) grey or (N, H, W, 3) colour uint8 data-set images -> (N, C, H, W) in [0, 1], as
    decoders give them."""
    x = torch.from_numpy(np.ascontiguousarray(pixels)).float().div_(255)
    return x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)
