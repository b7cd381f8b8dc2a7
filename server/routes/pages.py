"""The explorer page `/` and the htmx fragments its controls ask for.

Thin on purpose: parse the request into `server.explorer` values, render a template. Each fragment is
a partial that the page itself includes ("template fragments"). A fragment that cannot be made
answers 4xx with a message fragment, which htmx swaps in where the user is looking (base.html lets
htmx swap 4xx bodies). Handlers are `async def` like the API's: one small decode beats a thread hop.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from model.vae import VAE
from server import explorer as ex
from server import insight
from server.deps import RegistryDep, SettingsDep
from server.preprocess import ACCEPTED_TEXT
from server.registry import Registry
from server.settings import Settings
from server.uploads import load_input

router = APIRouter(tags=["pages"], include_in_schema=False)

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"
# After new slider values are swapped in, fire `input` on the slider form, as if a slider moved:
# the image, grid, traversal and URL then follow by the same path as a drag.
AFTER_Z_SWAP = {"HX-Trigger-After-Swap": '{"input": {"target": "#z-form"}}'}
TO_Z_MESSAGE = {"HX-Retarget": "#z-message", "HX-Reswap": "innerHTML"}


@cache
def templates() -> Jinja2Templates:
    t = Jinja2Templates(directory=TEMPLATES)
    t.env.globals.update(
        view=ex.VIEW, accepted=ACCEPTED_TEXT, fmt=ex.fmt, csv=ex.csv, traverse_url=ex.traverse_url,
        model_label=ex.model_label, dataset_label=ex.dataset_label, kl_bars=insight.kl_bars,
        training_curve=insight.training_curve, losses=insight.losses, class_names=insight.class_names,
    )
    return t


def html(request: Request, name: str, status: int = 200, headers: dict[str, str] | None = None,
         **context: Any) -> HTMLResponse:
    return templates().TemplateResponse(request, name, context, status_code=status, headers=headers)


def message(request: Request, error: HTTPException, headers: dict[str, str] | None = None) -> HTMLResponse:
    return html(request, "partials/message.html", error.status_code, headers, message=error.detail)


def pick(registry: Registry, name: str | None) -> tuple[str, VAE]:
    name = name or registry.default
    try:
        return name, registry.get(name)
    except KeyError:
        known = ", ".join(sorted(registry.models))
        raise HTTPException(404, detail=f"unknown model {name!r}; available: {known}") from None


def slider_form(request: Request, registry: Registry, settings: Settings) -> tuple[str, VAE, list[float]]:
    """The slider form's model and z (`model`, `z0` ...), which every fragment that follows z sends."""
    name, vae = pick(registry, request.query_params.get("model"))
    return name, vae, ex.slider_z(request.query_params, vae.latent_dim, settings.z_bound)


@router.get("/", response_class=HTMLResponse)
async def index(request: Request, registry: RegistryDep, settings: SettingsDep) -> HTMLResponse:
    """The page for `?model=&z=`; to htmx (the model picker) just its `#explorer` part."""
    query, notices = request.query_params, []
    try:
        name, vae = pick(registry, query.get("model"))
    except HTTPException as e:
        notices.append(f"{e.detail}. Showing {registry.default}.")
        name, vae = pick(registry, None)
    z = [0.0] * vae.latent_dim
    try:
        z = ex.parse_z(query["z"], vae.latent_dim, settings.z_bound) if "z" in query else z
    except HTTPException as e:
        notices.append(f"{e.detail}. Starting from zeros.")
    state = ex.Explorer.of(name, vae, z, grid=ex.default_grid(vae.latent_dim))
    htmx = request.headers.get("HX-Request") == "true" and "HX-History-Restore-Request" not in request.headers
    return html(
        request, "partials/explorer.html" if htmx else "index.html", headers={"Vary": "HX-Request"},
        s=state, z=z, src=ex.decode_url(vae, z), cards=registry.cards(), notice=" ".join(notices),
    )


@router.get("/fragments/decoded", response_class=HTMLResponse)
async def decoded(request: Request, registry: RegistryDep, settings: SettingsDep) -> HTMLResponse:
    """The decoded image for the slider form's z: the fast path that follows a drag."""
    try:
        _, vae, z = slider_form(request, registry, settings)
    except HTTPException as e:
        return message(request, e, TO_Z_MESSAGE)
    return html(request, "partials/decoded.html", src=ex.decode_url(vae, z), z=z)


@router.get("/fragments/sliders", response_class=HTMLResponse)
async def sliders(request: Request, registry: RegistryDep) -> HTMLResponse:
    """New slider values: `action=sample` (a prior draw at `temperature`) or `action=reset` (zeros)."""
    query = request.query_params
    try:
        name, vae = pick(registry, query.get("model"))
        z = ex.set_sliders(query.get("action", ""), query.get("temperature"), vae.latent_dim)
    except HTTPException as e:
        return message(request, e, TO_Z_MESSAGE)
    return html(request, "partials/sliders.html", headers=AFTER_Z_SWAP, s=ex.Explorer.of(name, vae, z))


@router.get("/fragments/grid", response_class=HTMLResponse)
async def grid(request: Request, registry: RegistryDep, settings: SettingsDep) -> HTMLResponse:
    """The grid image for the grid form's dimensions and range, around the slider form's z."""
    try:
        name, vae, z = slider_form(request, registry, settings)
        grid = ex.parse_grid(request.query_params, vae.latent_dim, max_steps=settings.max_steps,
                             bound=settings.z_bound)
    except HTTPException as e:
        return message(request, e)
    return html(request, "partials/grid.html", s=ex.Explorer.of(name, vae, z, grid=grid))


@router.get("/fragments/traversal", response_class=HTMLResponse)
async def traversal(request: Request, registry: RegistryDep, settings: SettingsDep) -> HTMLResponse:
    """The traversal figure (one row per dimension) around the slider form's z."""
    try:
        name, vae, z = slider_form(request, registry, settings)
    except HTTPException as e:
        return message(request, e)
    return html(request, "partials/traversal.html", s=ex.Explorer.of(name, vae, z))


@router.post("/fragments/upload", response_class=HTMLResponse)
async def upload(request: Request, registry: RegistryDep, settings: SettingsDep) -> HTMLResponse:
    """An uploaded image (multipart field `image`): its preprocessed input and reconstruction, and
    new sliders at its latent mean. Bad uploads answer their 4xx with the reason, shown by the control."""
    try:
        name, vae = pick(registry, request.query_params.get("model"))
        shown, z = ex.reconstruct(vae, await load_input(request, settings, vae))
    except HTTPException as e:
        return message(request, e)
    state = ex.Explorer.of(name, vae, z, upload=shown)
    return html(request, "partials/upload.html", headers=AFTER_Z_SWAP, s=state)
