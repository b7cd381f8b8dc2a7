"""Reading an uploaded image: a multipart field `image` or a raw `image/*` body, capped in bytes
before it is read and in pixels before it is decoded, then preprocessed into the model's input."""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator

import numpy as np
import torch
from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartParser

from server.deps import require_encoder
from server.preprocess import ACCEPTED_TEXT, UploadError, open_image, preprocess, resize_crop
from server.registry import LoadedModel
from server.settings import Settings

FIELD = "image"
MULTIPART_SLACK = 64 * 1024  # boundaries and part headers around the file itself
INLINE_PIXELS = 512 * 512  # smaller images are preprocessed on the event loop: a thread hop costs more
RAW_TYPES = ("image/", "application/octet-stream")
EXPECTED = f"a multipart/form-data field {FIELD!r} or a raw image/* body holding a {ACCEPTED_TEXT} image"


def megabytes(n: int) -> str:
    """A size as people read it: "45.8 MB", "97.7 KB", "12 bytes" (binary units, as file managers count)."""
    for unit, size in (("MB", 2**20), ("KB", 2**10)):
        if n >= size:
            return f"{n / size:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


def too_large(size: str, limit: int) -> HTTPException:
    return HTTPException(413, detail=f"the upload is {size}; the limit is {megabytes(limit)}")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise too_large(megabytes(int(length)), limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large(f"more than {megabytes(limit)}", limit)
    return bytes(body)


async def _once(body: bytes) -> AsyncGenerator[bytes, None]:
    yield body


async def read_upload(request: Request, max_bytes: int) -> bytes:
    """The uploaded file's bytes, from either form of upload."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        body = await read_body(request, max_bytes + MULTIPART_SLACK)
        try:
            form = await MultiPartParser(request.headers, _once(body), max_files=1, max_fields=8).parse()
        except Exception as e:  # starlette's and python-multipart's own exceptions, bad boundaries
            raise HTTPException(422, detail=f"malformed multipart body ({e}); expected {EXPECTED}") from None
        field = form.get(FIELD)
        if not isinstance(field, UploadFile):
            got = ", ".join(repr(k) for k in form) or "no fields"
            raise HTTPException(422, detail=f"the multipart body has no file field {FIELD!r} (got {got})")
        data = await field.read()
        await form.close()
        if len(data) > max_bytes:
            raise too_large(megabytes(len(data)), max_bytes)
        return data
    if ctype and not ctype.startswith(RAW_TYPES):
        raise HTTPException(415, detail=f"expected {EXPECTED}; got a {ctype} body")
    return await read_body(request, max_bytes)


async def load_input(request: Request, settings: Settings, model: LoadedModel) -> torch.Tensor:
    """Upload -> the model's input, (1, C, S, S) in [0, 1], prepared as its card says; every bad
    upload is a 4xx, and so is an upload to a model that cannot encode."""
    require_encoder(model, "encode an upload or a drawing")
    data = await read_upload(request, settings.max_upload_bytes)
    card = model.card
    size = card.image_size
    try:
        img = open_image(data, max_pixels=settings.max_upload_pixels)
    except UploadError as e:
        raise HTTPException(e.status, detail=e.detail) from None
    if card.prepare == "mnist":
        prepare = functools.partial(preprocess, canvas=size, box=round(size * 20 / 28))  # MNIST's box
    else:
        prepare = functools.partial(resize_crop, size=size, channels=card.channels)
    try:
        if img.width * img.height <= INLINE_PIXELS:
            x = prepare(img)
        else:
            x = await run_in_threadpool(prepare, img)
    except Exception as e:  # an exotic mode PIL cannot convert: refuse it rather than fail
        raise HTTPException(422, detail=f"could not read the pixels of this {img.mode} image ({e})") from None
    pixels = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    return pixels.view(1, card.channels, size, size).to(model.vae.device)
