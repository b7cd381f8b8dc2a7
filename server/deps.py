"""Request dependencies as Annotated aliases: SettingsDep, RegistryDep, ModelDep."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request

from model.vae import VAE
from server.registry import Registry
from server.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_registry(request: Request) -> Registry:
    registry: Registry | None = request.app.state.registry
    if registry is None:
        raise HTTPException(503, detail="models are not loaded yet")
    return registry


SettingsDep = Annotated[Settings, Depends(get_settings)]
RegistryDep = Annotated[Registry, Depends(get_registry)]


def get_model(
    registry: RegistryDep,
    model: Annotated[str | None, Query(description="model name, as listed by /models", max_length=100)] = None,
) -> VAE:
    try:
        return registry.get(model)
    except KeyError:
        known = ", ".join(sorted(registry.models))
        raise HTTPException(404, detail=f"unknown model {model!r}; available: {known}") from None


ModelDep = Annotated[VAE, Depends(get_model)]
