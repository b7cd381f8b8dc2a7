"""Models appear and go without a restart: the weights folder is checked every
`settings.reload_seconds` (a stat of each file), and when anything changed the registry is rebuilt
in a worker thread, reusing every unchanged model, then swapped in whole. Requests in flight keep
the registry they started with; a model written by `python -m model.train` or `python -m
model.export`, or copied in, is served within a check or two of its last byte landing.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI

from server.registry import Registry, refresh, scan
from server.settings import Settings

log = logging.getLogger("server.reload")


def changed(registry: Registry, settings: Settings) -> bool:
    now = {name: found.stamp for name, found in scan(settings.weights_dir).items()}
    return now != registry.stamps


async def reload_once(app: FastAPI, settings: Settings) -> bool:
    """Rebuild the registry if the folder changed; True when it did."""
    registry: Registry | None = app.state.registry
    if registry is None or not changed(registry, settings):
        return False
    fresh = await asyncio.to_thread(
        refresh, registry, settings.weights_dir, device=settings.device, default=settings.default_model,
        bf16=settings.bf16(),
    )
    if app.state.registry is registry:  # nobody swapped it meanwhile (the lifespan ending)
        app.state.registry = fresh
    return True


async def watch(app: FastAPI, settings: Settings) -> None:
    """Runs for the app's lifetime, as a task its lifespan starts and cancels."""
    while True:
        await asyncio.sleep(settings.reload_seconds)
        try:
            await reload_once(app, settings)
        except Exception:  # a reload that fails keeps the models already served
            log.exception("reloading %s failed; still serving the models loaded before", settings.weights_dir)
