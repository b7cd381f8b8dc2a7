"""Where a /decode request's time goes, without sockets or wrk: the app behind uvicorn's own HTTP/1.1
protocol (h11, access log on) with in-memory transports, on one thread, so the numbers are CPU time
per request and far less noisy than bench/api.py's.

    .venv/bin/python bench/inprocess.py [--rounds 300] [--repeats 7]

Each round hands 16 connections one request each and runs the event loop until all 16 are answered,
as 16 wrk connections do. Printed, medians over repeats run side by side:
- us per request for /healthz and /decode (z different on every request), their ratio, and the
  difference: what /decode costs beyond the bare HTTP path;
- the same /healthz answer from a route called the way /decode is, without FastAPI's request
  handler (server.query.DirectRoute), and /decode's ratio to that: how much of the ratio to /healthz
  comes from /decode skipping FastAPI's handler rather than from decoding being cheap;
- the same for /decode whose batches skip the decoder and answer blank images: the difference
  between the two /decode lines is what decoding costs in the loaded server;
- how long one batch of 16 takes in the loaded server, against the same batch decoded in a loop.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

ROOT = Path(__file__).resolve().parent.parent
CONNECTIONS = 16


class Transport(asyncio.Transport):
    """A socket that keeps nothing: counts the writes that carry a response body."""

    def __init__(self, on_body: Callable[[], None]) -> None:
        super().__init__()
        self.on_body = on_body
        self.closing = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not bytes(data[:9]).startswith(b"HTTP/1.1 "):  # headers go first, the body after
            self.on_body()

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def request_bytes(path: str, i: int) -> bytes:
    query = f"?z={i % 997 / 100 - 4.5:.2f},{i * 7 % 991 / 100 - 4.5:.2f}" if path == "/decode" else ""
    return f"GET {path}{query} HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n".encode()


async def per_request_us(app: Any, paths: list[str], rounds: int, repeats: int) -> dict[str, float]:
    import uvicorn
    from uvicorn.protocols.http.h11_impl import H11Protocol
    from uvicorn.server import ServerState

    config = uvicorn.Config(app, log_level="info", access_log=True)
    config.load()
    devnull = open(os.devnull, "w")  # noqa: SIM115 (lives as long as the run)
    for name in ("uvicorn.access", "uvicorn.error"):  # formatted and written, as served, to nowhere
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(devnull)
    loop = asyncio.get_running_loop()
    state = ServerState()
    left = [0]
    done = asyncio.Event()

    def answered() -> None:
        left[0] -= 1
        if left[0] == 0:
            done.set()

    connections = []
    for _ in range(CONNECTIONS):
        protocol = H11Protocol(config, state, {}, loop)
        protocol.connection_made(Transport(answered))
        connections.append(protocol)

    async def run(path: str, n: int) -> float:
        t0 = time.perf_counter()
        for r in range(n):
            left[0] = CONNECTIONS
            done.clear()
            for j, protocol in enumerate(connections):
                protocol.data_received(request_bytes(path, r * CONNECTIONS + j))
            await done.wait()
        return (time.perf_counter() - t0) / (n * CONNECTIONS) * 1e6

    times: dict[str, list[float]] = {p: [] for p in paths}
    for path in paths:
        await run(path, 50)  # warm-up
    for _ in range(repeats):
        for path in paths:
            times[path].append(await run(path, rounds))
    return {p: statistics.median(t) for p, t in times.items()}


DIRECT_HEALTHZ = "/bench/healthz-direct"


def add_direct_healthz(app: Any) -> None:
    """/healthz's answer from a DirectRoute, matched just before the router that holds /healthz."""
    from server.query import DirectRoute

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    router = APIRouter()
    router.add_api_route(DIRECT_HEALTHZ, healthz, route_class_override=DirectRoute, include_in_schema=False)
    first = next(i for i, r in enumerate(app.router.routes) if type(r).__name__ == "_IncludedRouter")
    app.include_router(router)
    app.router.routes.insert(first, app.router.routes.pop())


def main() -> None:
    sys.path.insert(0, str(ROOT))
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=300, help="rounds of 16 requests per measurement")
    parser.add_argument("--repeats", type=int, default=7, help="measurements per route, interleaved")
    args = parser.parse_args()

    from server import render
    from server.app import create_app
    from server.decoding import DecodeBatcher

    app = create_app()
    add_direct_healthz(app)
    batch_s: list[float] = []
    real_run = DecodeBatcher._run
    blank = np.zeros((28, 28), np.uint8)
    skip = [False]

    def run_batch(self: DecodeBatcher, vae: Any, batch: Any) -> None:
        waiting = batch.waiting
        if skip[0] and self._open.get(vae) is batch:  # answer blank images, decode nothing
            del self._open[vae]
            for future in waiting:
                future.set_result(blank)
            return
        t0 = time.perf_counter()
        real_run(self, vae, batch)
        if len(batch.codes) == CONNECTIONS:
            batch_s.append(time.perf_counter() - t0)

    DecodeBatcher._run = run_batch  # type: ignore[method-assign]

    async def measure() -> None:
        async with app.router.lifespan_context(app):
            paths = ["/healthz", DIRECT_HEALTHZ, "/decode"]
            found = await per_request_us(app, paths, args.rounds, args.repeats)
            skip[0] = True
            blank_us = (await per_request_us(app, ["/decode"], args.rounds, args.repeats))["/decode"]
            skip[0] = False
            vae = app.state.registry.get(None).vae
            codes = torch.randn(CONNECTIONS, vae.latent_dim)
            with torch.inference_mode():
                for _ in range(50):
                    render.to_uint8(vae.decode(codes))
                t0 = time.perf_counter()
                for _ in range(500):
                    render.to_uint8(vae.decode(codes))
                alone_us = (time.perf_counter() - t0) / 500 * 1e6
        health = found["/healthz"]
        print(f"{'/healthz, us a request':44} {health:7.1f}")
        for label, us in (("/decode", found["/decode"]), ("/decode decoding nothing", blank_us)):
            extra = f"ratio {health / us:.3f}, {us - health:+.1f} us"
            print(f"{label + ', us a request':44} {us:7.1f}   {extra}")
        direct = found[DIRECT_HEALTHZ]
        print(f"{'/healthz as a DirectRoute, us a request':44} {direct:7.1f}")
        us = found["/decode"]
        print(f"{'/decode over it':44} {'':7}   ratio {direct / us:.3f}, {us - direct:+.1f} us")
        print(f"{'batch of 16 in the loaded server, us':44} {statistics.median(batch_s) * 1e6:7.1f}")
        print(f"{'the same batch decoded in a loop, us':44} {alone_us:7.1f}")

    asyncio.run(measure())


if __name__ == "__main__":
    main()
