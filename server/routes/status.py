"""What is served and whether it is up: /models, /healthz, /readyz."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from model.card import ModelCard
from server.deps import RegistryDep, SettingsDep
from server.responses import CACHED, cached
from server.schemas import Status

router = APIRouter(tags=["status"])


@router.get("/models", response_model=list[ModelCard], responses=CACHED, summary="The loaded models")
async def models(request: Request, registry: RegistryDep, settings: SettingsDep) -> Response:
    """Each model's card: name, data set, latent size, config and test metrics."""
    cards = registry.cards()
    return cached(
        request,
        ",".join(c.identity for c in cards),
        lambda: json.dumps([c.model_dump(mode="json") for c in cards]).encode(),
        media_type="application/json",
        max_age=settings.cache_max_age,
    )


@router.get("/healthz", response_model=Status, summary="The process is up")
async def healthz() -> Response:
    return JSONResponse({"status": "ok"})


@router.get(
    "/readyz",
    response_model=Status,
    summary="The models are loaded",
    responses={503: {"model": Status, "description": "still loading"}},
)
async def readyz(request: Request) -> Response:
    registry = request.app.state.registry
    if registry is None:
        return JSONResponse({"status": "loading", "models": []}, status_code=503)
    return JSONResponse({"status": "ready", "models": sorted(registry.models)})
