"""What is served and whether it is up: /models, /healthz, /readyz."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from server.deps import RegistryDep, SettingsDep
from server.responses import CACHED, cached
from server.schemas import ModelEntry, Status

router = APIRouter(tags=["status"])


@router.get("/models", response_model=list[ModelEntry], responses=CACHED, summary="The models")
async def models(request: Request, registry: RegistryDep, settings: SettingsDep) -> Response:
    """Each served model's card (name, data set, latent size, channels, image size, config, test
    metrics) with `available: true`; each model in the weights folder that is not served, with
    `available: false` and the reason."""
    served = [registry.models[n] for n in sorted(registry.models)]
    broken = [registry.unavailable[n] for n in sorted(registry.unavailable)]

    def body() -> bytes:
        entries = [
            {**m.card.model_dump(mode="json"), "available": True,
             "format": "safetensors" if m.card.native else "onnx", "can_encode": m.can_encode}
            for m in served
        ]
        entries += [{"name": u.name, "available": False, "reason": u.reason} for u in broken]
        return json.dumps(entries).encode()

    tag = ",".join([m.identity for m in served] + [f"{u.name}!{u.reason}" for u in broken])
    return cached(request, tag, body, media_type="application/json", max_age=settings.cache_max_age)


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
