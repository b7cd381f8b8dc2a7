"""Each model's decoder as an ONNX file, for the page to decode slider moves itself
(static/local-decode.js with ONNX Runtime Web). The server's own decode stays the truth: the file
decodes to within 1/255 per pixel of the server's PNGs (tests/server/test_web_decoder.py).

`decoder_bytes` is the one place a model's browser decoder comes from:
- a native model (safetensors + config): exported by model.export with float16 weights (the browser
  downloads 1.35 MB, not 2.7 MB), from a fresh load of its weights (the served network is rewritten
  for torch's CPU kernels, model/inference.py, and does not export); kept on disk as
  `<name>.<checksum>.web-decoder.onnx` in the cache folder, so a restart does not export again;
- a model brought as ONNX (`<name>.decoder.onnx`, docs/own-model.md): that file, byte for byte.

`WebDecoders` (the app's lifespan state) keeps the bytes in memory and exports each model at most
once at a time, in a child process (`export_in_child`: a few seconds with its torch import), while
the event loop keeps answering. Nothing is exported until asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

from model import store
from model.export import DECODER_SUFFIX, decoder_onnx
from server.registry import LoadedModel

log = logging.getLogger("server.web_decoder")
RETRY_S = 60.0  # seconds before a failed export is tried again
CACHE_SUFFIX = ".web-decoder.onnx"  # not DECODER_SUFFIX: the weights folder's watcher must not see a model


def version(model: LoadedModel) -> str:
    """The `v` of the decoder's URL: the start of the weights' checksum (new weights, new URL)."""
    return model.card.sha256[:16]


def decoder_url(model: LoadedModel) -> str:
    """Where the page loads `model`'s decoder from (GET /decoder.onnx, server/routes/web_decoder.py)."""
    return f"/decoder.onnx?{urlencode({'model': model.name, 'v': version(model)})}"


class DecoderUnavailable(RuntimeError):
    """A model whose decoder cannot be given to the browser; the message says why."""


def cache_path(model: LoadedModel, cache_dir: Path) -> Path | None:
    """Where a native model's exported decoder is kept; None when its weights have no checksum."""
    checksum = model.card.sha256
    return cache_dir / f"{model.name}.{checksum[:16]}{CACHE_SUFFIX}" if checksum else None


def exported(name: str, weights_dir: Path) -> bytes:
    """A native model's decoder as ONNX with float16 weights, from its weights on disk."""
    vae = store.load(name, "cpu", folder=weights_dir)
    return decoder_onnx(vae, vae.latent_dim, float16=True)


async def export_in_child(name: str, weights_dir: Path) -> bytes:
    """`exported` in a child process of its own. Never in a thread of the server: torch.export keeps
    its tracing modes on a stack shared by the process's threads, so an export beside the server's
    decodes fails ("Trying to pop empty mode stack", seen under the browser tests) and could trace
    a decode running meanwhile. A fresh process costs a torch import (a few seconds), once per
    model and weights, since the result is kept on disk."""
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, exported, name, weights_dir)
    finally:
        await asyncio.to_thread(pool.shutdown)  # the child exits; its resources are released


async def decoder_bytes(model: LoadedModel, *, weights_dir: Path, cache_dir: Path) -> bytes:
    """The ONNX file the browser runs for `model`: input `z` (N, latent_dim), output (N, C, H, W)."""
    if not model.card.native:
        try:
            return (weights_dir / f"{model.name}{DECODER_SUFFIX}").read_bytes()
        except OSError as e:
            raise DecoderUnavailable(f"{model.name}: cannot read its decoder ({e.strerror})") from None
    path = cache_path(model, cache_dir)
    if path is not None and path.is_file():
        return path.read_bytes()
    try:
        graph = await export_in_child(model.name, weights_dir)
    except Exception as e:  # any failure means the page keeps decoding on the server
        raise DecoderUnavailable(f"{model.name}: the decoder could not be exported ({e})") from None
    if path is not None:
        with contextlib.suppress(OSError):  # a read-only cache folder: serve from memory
            store.atomic_write(path, lambda p: p.write_bytes(graph))
    return graph


class WebDecoders:
    """The browser decoders of the loaded models, made on first request and kept in memory."""

    def __init__(self, *, weights_dir: Path, cache_dir: Path) -> None:
        self.weights_dir, self.cache_dir = weights_dir, cache_dir
        self._made: dict[str, bytes] = {}
        # an export that failed is not tried again for each request, but again after RETRY_S: a
        # failure may pass (memory, a package being reinstalled under the running server)
        self._failed: dict[str, tuple[float, str]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, model: LoadedModel) -> bytes:
        """`model`'s decoder bytes; DecoderUnavailable when it cannot be made."""
        key = model.identity
        async with self._locks.setdefault(key, asyncio.Lock()):
            failed_at, why = self._failed.get(key, (-RETRY_S, ""))
            if time.monotonic() - failed_at < RETRY_S:
                raise DecoderUnavailable(why)
            if key not in self._made:
                try:
                    self._made[key] = await decoder_bytes(
                        model, weights_dir=self.weights_dir, cache_dir=self.cache_dir
                    )
                except DecoderUnavailable as e:
                    log.warning("%s", e)
                    self._failed[key] = (time.monotonic(), str(e))
                    raise
        return self._made[key]
