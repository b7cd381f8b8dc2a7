"""The one module the server decodes through: `Decoder.one` (a single z, batched with the others
of its event-loop turn), `Decoder.many` (a grid, a traversal, a path), `Decoder.encode` and
`Decoder.reconstruct` (uploads and drawings). /decode, the slider's fragment, the page, /reconstruct,
/encode and the upload fragment all call it, so an optimisation here reaches every caller.

Single-vector decodes that arrive together run as one batch.

A slider or a load of clients sends many one-image /decode requests. Decoding each alone is a
matrix-vector product that streams the decoder's weights (2.6 MB for the shipped MLPs, more than
a core's 1 MB L2) once per image; a batch streams them once for all its rows: on the 2-core dev
box, one image costs 55 us alone and 9.5 us in a batch of 16 (oneDNN's matmul, model/inference.py).

There is no timer: a batch is closed by the event loop's own rhythm. The first request schedules a
check with `call_soon`; each check that finds the batch grown since the last one waits one more
turn, and the first that finds it unchanged decodes it. A lone request is decoded two turns after it
arrived, microseconds later. Under load, requests arriving over consecutive turns share one batch:
with 16 clients, batches of 16 instead of a mix of 1 to 16 when each turn's requests formed their own
(/decode throughput +10 %, bench/api.py). Decoding stays on the event loop, as everywhere in this app
(a thread hop costs more than it would save).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np
import torch

from model.vae import Network
from server import render
from server.registry import LoadedModel


@dataclass
class _Batch:
    codes: list[list[float]] = field(default_factory=list)
    waiting: list[asyncio.Future[np.ndarray]] = field(default_factory=list)


class DecodeBatcher:
    """`await batcher.decode(vae, z)`: one (H, W) uint8 image, decoded in a batch with the others
    that arrived in the same event-loop turn (at most `max_batch` per batch)."""

    def __init__(self, *, max_batch: int = 64) -> None:
        assert max_batch >= 1, f"max_batch must be at least 1, got {max_batch}"
        self.max_batch = max_batch
        self._open: dict[Network, _Batch] = {}
        self.batches = 0  # decodes run, and images decoded in them: for tests and benchmarks
        self.images = 0

    def decode(self, vae: Network, code: list[float]) -> asyncio.Future[np.ndarray]:
        loop = asyncio.get_running_loop()
        batch = self._open.get(vae)
        if batch is None:
            batch = self._open[vae] = _Batch()
            loop.call_soon(self._close, vae, batch, 0)
        future: asyncio.Future[np.ndarray] = loop.create_future()
        batch.codes.append(code)
        batch.waiting.append(future)
        if len(batch.codes) >= self.max_batch:
            self._run(vae, batch)  # full: decode now; the scheduled call finds it done
        return future

    def _close(self, vae: Network, batch: _Batch, seen: int) -> None:
        """Run the batch once a turn has passed in which it did not grow; until then, wait a turn."""
        if len(batch.codes) > seen and self._open.get(vae) is batch:
            asyncio.get_running_loop().call_soon(self._close, vae, batch, len(batch.codes))
        else:
            self._run(vae, batch)

    def _run(self, vae: Network, batch: _Batch) -> None:
        if self._open.get(vae) is not batch:
            return  # already run because it filled up
        del self._open[vae]
        try:
            with torch.inference_mode():
                codes = torch.from_numpy(np.array(batch.codes, dtype=np.float32)).to(vae.device)
                images = render.to_uint8(vae.decode(codes))
        except Exception as exc:  # every waiting request fails the way a lone decode would
            for future in batch.waiting:
                if not future.done():
                    future.set_exception(exc)
            return
        self.batches += 1
        self.images += len(batch.codes)
        for future, image in zip(batch.waiting, images, strict=True):
            if not future.done():  # a request whose client went away was cancelled
                future.set_result(image)


@dataclass(frozen=True)
class Reconstruction:
    """An input (1, C, H, W) in [0, 1], the mean and log-variance of q(z|x), and the decoded mean."""

    input: torch.Tensor
    mean: torch.Tensor  # (1, latent_dim)
    logvar: torch.Tensor
    image: torch.Tensor  # (1, C, H, W) pixel probabilities


class Decoder:
    """Lives in the app's lifespan state; every route that turns codes into images goes through it."""

    def __init__(self, *, max_batch: int = 64) -> None:
        self.batcher = DecodeBatcher(max_batch=max_batch)

    def one(self, model: LoadedModel, code: list[float]) -> asyncio.Future[np.ndarray]:
        """One z -> its (H, W) uint8 image, decoded with the others of this event-loop turn."""
        return self.batcher.decode(model.vae, code)

    CHUNK_VALUES = 2**18  # output values per decoder call (see `many`)

    @staticmethod
    def many(model: LoadedModel, z: torch.Tensor) -> torch.Tensor:
        """(N, D) codes -> (N, C, H, W) pixel probabilities, without autograd bookkeeping.

        Decoded in parts of at most CHUNK_VALUES output values (21 images of 64x64 colour, 334 of
        28x28), which bounds the decoder's intermediate activations: twenty 20x20 grids of
        shapes-b1 decoded in one call each left the server 106 MB larger (memory the allocator
        keeps), in parts 32 to 54 MB; the parts decode no slower (in process, 400 images: 232 ms in
        one call, 205 to 224 ms in parts of 25 to 100, under load)."""
        card = model.card
        step = max(1, Decoder.CHUNK_VALUES // (card.channels * card.image_size**2))
        with torch.inference_mode():
            z = z.to(model.vae.device)
            if len(z) <= step:
                return model.vae.decode(z)
            return torch.cat([model.vae.decode(part) for part in z.split(step)])

    @staticmethod
    def encode(model: LoadedModel, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(1, C, H, W) in [0, 1] -> the mean and log-variance of q(z|x), each (1, latent_dim)."""
        with torch.inference_mode():
            return model.vae.encode(x)

    @staticmethod
    def reconstruct(model: LoadedModel, x: torch.Tensor) -> Reconstruction:
        """The deterministic reconstruction of `x`: through the mean of q(z|x)."""
        with torch.inference_mode():
            mean, logvar, image = model.vae.reconstruct(x)
        return Reconstruction(x, mean, logvar, image)
