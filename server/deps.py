"""Request dependencies as Annotated aliases (SettingsDep, RegistryDep, ModelDep, DecoderDep,
EncodingsDep, SliderZ), and the plain functions behind them for a route that reads its request
itself (/decode, server.query). `find_model` is the one way a request's model is found.

All `async def`: FastAPI runs a plain `def` dependency in its thread pool, a hop of tens of
microseconds per request for lookups that take well under one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request

from model.encodings import EncodingCache
from server.decoding import Decoder
from server.registry import LoadedModel, Registry
from server.schemas import slider_z
from server.settings import Settings

MODEL = "model name, as listed by /models; default: the server's default model (VAE_DEFAULT_MODEL)"


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _ready(request: Request, what: str, detail: str) -> object:
    """What the lifespan put in the app's state under `what`; 503 with `detail` until it has."""
    found = getattr(request.app.state, what, None)
    if found is None:
        raise HTTPException(503, detail=detail)
    return found


def registry_of(request: Request) -> Registry:
    registry = _ready(request, "registry", "models are not loaded yet")
    assert isinstance(registry, Registry)
    return registry


def decoder_of(request: Request) -> Decoder:
    decoder = _ready(request, "decoder", "the decoder is not ready yet")
    assert isinstance(decoder, Decoder)
    return decoder


def find_model(request: Request, name: str | None) -> LoadedModel:
    """The model called `name` (the default when None), or a 404 that lists the known ones."""
    registry = registry_of(request)
    try:
        return registry.get(name)
    except KeyError:
        if name in registry.unavailable:
            why = registry.unavailable[name].reason
            raise HTTPException(404, detail=f"model {name!r} is not available: {why}") from None
        known = ", ".join(sorted(registry.models))
        raise HTTPException(404, detail=f"unknown model {name!r}; available: {known}") from None


def require_encoder(model: LoadedModel, purpose: str) -> None:
    """A 409 for a model exported without its encoder, which can decode but not `purpose`."""
    if not model.can_encode:
        raise HTTPException(
            409,
            detail=f"{model.name} has no encoder (it was exported with its decoder only), so it cannot "
            f"{purpose}; decoding, sampling, grids and traversals work",
        )


async def get_settings(request: Request) -> Settings:
    return settings_of(request)


async def get_registry(request: Request) -> Registry:
    return registry_of(request)


async def get_decoder(request: Request) -> Decoder:
    return decoder_of(request)


async def get_model(
    request: Request, model: Annotated[str | None, Query(description=MODEL, max_length=100)] = None
) -> LoadedModel:
    return find_model(request, model)


async def get_encodings(request: Request) -> EncodingCache:
    cache = _ready(request, "encodings", "the encodings cache is not ready yet")
    assert isinstance(cache, EncodingCache)
    return cache


SettingsDep = Annotated[Settings, Depends(get_settings)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
DecoderDep = Annotated[Decoder, Depends(get_decoder)]
ModelDep = Annotated[LoadedModel, Depends(get_model)]
EncodingsDep = Annotated[EncodingCache, Depends(get_encodings)]


async def get_slider_z(request: Request, model: ModelDep) -> list[float]:
    """The slider form's `z0` .. `z{dim-1}` (one field per dimension, so not declared one by one),
    within the page's one z range."""
    return slider_z(request.query_params, dim=model.latent_dim)


SliderZ = Annotated[list[float], Depends(get_slider_z)]
