"""The explorer page `/` and the htmx fragments its controls ask for.

Thin on purpose, like the API's routes: parameters and the model arrive through declared query
parameters and dependencies (server.deps), images come from the one decoder (server.decoding), and a
template renders the values in server.explorer. Each fragment is a partial that the page itself
includes ("template fragments"). Errors are raised, and answered by server.errors: to htmx, the
message fragment where the user is looking.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from server import render
from server.decoding import Decoder
from server.deps import DecoderDep, ModelDep, RegistryDep, SettingsDep, SliderZ, find_model
from server.errors import errors_to
from server.explorer import Explorer, Upload, landing, sample_sliders
from server.link import read_link
from server.registry import LoadedModel
from server.schemas import invalid, parse_z
from server.templating import html
from server.uploads import load_input
from server.view import VIEW, Grid

router = APIRouter(tags=["pages"], include_in_schema=False)

# After new slider values are swapped in, fire `input` on the slider form, as if a slider moved:
# the image, grid, traversal and URL then follow by the same path as a drag.
AFTER_Z_SWAP = {"HX-Trigger-After-Swap": '{"input": {"target": "#z-form"}}'}
TO_Z_MESSAGE = [Depends(errors_to("#z-message"))]  # slider errors show under the sliders
TO_UPLOAD_MESSAGE = [Depends(errors_to("#upload-message"))]  # above the last good upload, which stays
Finite = Query(allow_inf_nan=False)
DEFAULT = Grid()


async def decoded_url(decoder: Decoder, model: LoadedModel, z: list[float]) -> str:
    """The decoded image for one z at native size, as a PNG data URL (the page upscales it)."""
    return render.data_url(render.png(await decoder.one(model, z)))


@router.get("/", response_class=HTMLResponse)
async def index(
    request: Request, registry: RegistryDep, settings: SettingsDep, decoder: DecoderDep,
    model: str | None = None, z: str | None = None,
) -> HTMLResponse:
    """The page for `?model=&z=` and the rest of its link (server.link: grid, temperature,
    interpolation); to htmx (the model picker) just its `#explorer` part. A bad model, z or other
    parameter is explained in a notice above a working page, not refused."""
    notices = []
    try:
        found = find_model(request, model)
    except HTTPException as e:
        notices.append(f"{e.detail}. Showing {registry.default}.")
        found = find_model(request, None)
    at = [0.0] * found.latent_dim
    try:
        at = parse_z(z, dim=found.latent_dim) if z is not None else at
    except HTTPException as e:
        notices.append(f"{e.detail}. Starting from zeros.")
    link, more = read_link(request.query_params, dim=found.latent_dim, max_steps=settings.max_steps)
    notices += more
    state = Explorer(found, at, grid=link.grid, temperature=link.temperature, path=link.path)
    htmx = request.headers.get("HX-Request") == "true" and "HX-History-Restore-Request" not in request.headers
    return html(
        request, "partials/explorer.html" if htmx else "index.html", headers={"Vary": "HX-Request"},
        s=state, z=at, src=await decoded_url(decoder, found, at), cards=registry.cards(),
        notice=" ".join(notices),
    )


@router.get("/fragments/models", response_class=HTMLResponse)
async def model_options(
    request: Request, registry: RegistryDep,
    model: Annotated[str | None, Query(max_length=100, description="the model to mark selected")] = None,
) -> HTMLResponse:
    """The model picker's options: static/models.js polls it, so that models added to or removed
    from the weights folder appear in an open page (server/reload.py)."""
    return html(request, "partials/model-options.html", cards=registry.cards(), selected=model)


@router.get("/fragments/decoded", response_class=HTMLResponse, dependencies=TO_Z_MESSAGE)
async def decoded(request: Request, model: ModelDep, z: SliderZ, decoder: DecoderDep) -> HTMLResponse:
    """The decoded image for the slider form's z: the fast path that follows a drag."""
    return html(request, "partials/decoded.html", src=await decoded_url(decoder, model, z), z=z)


@router.get("/fragments/sliders", response_class=HTMLResponse, dependencies=TO_Z_MESSAGE)
async def sliders(
    request: Request, model: ModelDep, action: Literal["sample", "reset"],
    temperature: Annotated[
        float, Query(ge=0, le=VIEW.temperature_max, allow_inf_nan=False)
    ] = VIEW.temperature,
) -> HTMLResponse:
    """New slider values: `action=sample` (a prior draw at `temperature`) or `action=reset` (zeros)."""
    z, notice = [0.0] * model.latent_dim, None
    if action == "sample":
        z, notice = sample_sliders(model.latent_dim, temperature)
    return html(request, "partials/sliders.html", headers=AFTER_Z_SWAP, s=Explorer(model, z, notice=notice))


@router.get("/fragments/grid", response_class=HTMLResponse)
async def grid(
    request: Request, model: ModelDep, z: SliderZ, settings: SettingsDep,
    gx: int = DEFAULT.x, gy: int = DEFAULT.y, steps: int = DEFAULT.steps,
    lo: Annotated[float, Finite] = DEFAULT.lo, hi: Annotated[float, Finite] = DEFAULT.hi,
) -> HTMLResponse:
    """The grid image for the grid form's dimensions and range, around the slider form's z."""
    shown = Grid(x=gx, y=gy, lo=lo, hi=hi, steps=steps)
    if problem := shown.problem(model.latent_dim, max_steps=settings.max_steps, bound=VIEW.bound):
        raise invalid(problem)
    return html(request, "partials/grid.html", s=Explorer(model, z, grid=shown))


@router.get("/fragments/traversal", response_class=HTMLResponse)
async def traversal(request: Request, model: ModelDep, z: SliderZ) -> HTMLResponse:
    """The traversal figure (one row per dimension) around the slider form's z."""
    return html(request, "partials/traversal.html", s=Explorer(model, z))


@router.post("/fragments/upload", response_class=HTMLResponse, dependencies=TO_UPLOAD_MESSAGE)
async def upload(
    request: Request, model: ModelDep, settings: SettingsDep, decoder: DecoderDep
) -> HTMLResponse:
    """An uploaded image (multipart field `image`): its preprocessed input and reconstruction, and
    new sliders at its latent mean. Bad uploads answer their 4xx with the reason, shown by the control."""
    shown = decoder.reconstruct(model, await load_input(request, settings, model))
    z, notice = landing(shown)
    state = Explorer(model, z, upload=Upload.of(shown), notice=notice)
    return html(request, "partials/upload.html", headers=AFTER_Z_SWAP, s=state)
