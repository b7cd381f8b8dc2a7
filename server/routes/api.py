"""Images from latent codes: decode, sample, grid, traverse, interpolate (PNG, and GIF).

Handlers are `async def` and decode on the event loop: a batch of codes decodes in well under a
millisecond, less than a hop to the thread pool would cost. Each handler parses (server.schemas),
builds codes (model.latent), decodes (server.decoding), renders (server.render) and answers. Defaults
come from server.view, which the page reads too.
"""

from __future__ import annotations

import functools
import math
import secrets
from collections.abc import Callable
from typing import Annotated, Literal

import torch
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from model import latent
from server import query, render
from server.decoding import Decoder
from server.deps import MODEL, DecoderDep, ModelDep, SettingsDep, decoder_of, find_model, settings_of
from server.registry import LoadedModel
from server.responses import (
    BAD_INPUT,
    CACHED,
    GIFResponse,
    PNGResponse,
    Responses,
    cache_headers,
    cached,
    not_modified,
)
from server.schemas import (
    check_cap,
    check_images,
    invalid,
    parse_base,
    parse_ranges,
    parse_values,
    parse_vector,
)
from server.settings import Settings
from server.view import VIEW

router = APIRouter(tags=["api"])

Z = "exactly latent_dim comma-separated finite numbers, |z| <= the bound (10 by default)"
Steps = Annotated[int, Query(ge=2, description="images per axis (at most 32 by default)")]
Base = Annotated[
    str | None, Query(description=f"the latent vector other dimensions are held at: {Z}; default zeros")
]
Range = Annotated[str | None, Query(description="a range <start>..<stop> for this dimension, e.g. -3..3")]
IMAGE: Responses = {**CACHED, **BAD_INPUT}


def answer(
    request: Request, model: LoadedModel, settings: Settings, render: Callable[[], bytes],
    media_type: str = "image/png",
) -> Response:
    """A cacheable answer (ETag, Cache-Control, 304) for a deterministic rendering."""
    return cached(request, model.identity, render, media_type=media_type, max_age=settings.cache_max_age)


def picture(
    decoder: Decoder, model: LoadedModel, z: torch.Tensor, cols: int, size: int | None = None
) -> bytes:
    """The decoded images of z, `cols` a row; `size` upscales each image's edge to that many pixels."""
    mosaic = render.tile(decoder.many(model, z), cols)
    return render.png(mosaic, size=size and size * max(cols, -(-len(z) // cols)))


class DecodeQuery(BaseModel):
    z: str = Field(description=Z, examples=["0.5,-1.2"])
    size: int | None = Field(None, ge=1, description="output edge in pixels, nearest neighbour")
    model: str | None = Field(None, max_length=100, description=MODEL)


async def decode_one(request: Request) -> Response:
    """The hot request of the API (one image per call, as a client sweeping z sends them), so it
    skips FastAPI's per-request work (server.query) and decodes together with the other /decode
    requests of its event-loop turn (server.decoding)."""
    q = query.read(request, DecodeQuery)
    settings = settings_of(request)
    model = find_model(request, q.model)
    code = parse_values(q.z, dim=model.latent_dim, bound=settings.z_bound)
    if q.size is not None:
        check_cap("size", q.size, settings.max_size)
    headers = cache_headers(request, model.identity, settings.cache_max_age)
    if fresh := not_modified(request, headers):
        return fresh
    image = await decoder_of(request).one(model, code)
    return PNGResponse(render.png(image, size=q.size), headers=headers)


router.add_api_route(
    "/decode",
    decode_one,
    methods=["GET"],
    route_class_override=query.DirectRoute,
    response_class=PNGResponse,
    responses=IMAGE,
    summary="Decode one latent vector",
    openapi_extra=query.parameters(DecodeQuery),
)


@router.get("/sample", response_class=PNGResponse, responses=IMAGE, summary="Decode draws from the prior")
async def sample(
    request: Request,
    model: ModelDep,
    settings: SettingsDep,
    decoder: DecoderDep,
    n: Annotated[int, Query(ge=1, description="number of draws (at most 256 by default)")] = VIEW.samples,
    seed: Annotated[
        int | None, Query(ge=0, lt=2**63, description="same seed, same bytes; default random")
    ] = None,
    temperature: Annotated[
        float, Query(ge=0, description="z ~ N(0, t^2 I); at most 5 by default")
    ] = VIEW.temperature,
) -> Response:
    check_cap("n", n, settings.max_samples)
    check_images(n, settings.max_images)
    if not temperature <= settings.max_temperature:
        raise invalid(
            f"temperature={temperature} is beyond this server's limit; expected 0 <= "
            f"temperature <= {settings.max_temperature:g}"
        )
    cols = math.ceil(math.sqrt(n))
    fresh = seed is None  # a new draw each time: not cacheable, but reproducible from X-Seed
    seed = secrets.randbits(63) if seed is None else seed
    z = latent.sample_prior(n, model.latent_dim, seed=seed, temperature=temperature)
    draw = functools.partial(picture, decoder, model, z, cols)
    if fresh:
        return PNGResponse(draw(), headers={"Cache-Control": "no-store", "X-Seed": str(seed)})
    return answer(request, model, settings, draw)


@router.get("/grid", response_class=PNGResponse, responses=IMAGE, summary="The 2-D latent manifold")
async def grid(
    request: Request,
    model: ModelDep,
    settings: SettingsDep,
    decoder: DecoderDep,
    steps: Steps = VIEW.grid_steps,
    base: Base = None,
    z0: Range = None,
    z1: Range = None,
) -> Response:
    """Any two dimensions as `z<k>=<start>..<stop>`: the first along x, the second along y (downward
    as written); one range gives a single row. Without ranges, z0 and z1 sweep the sliders' range."""
    check_cap("steps", steps, settings.max_steps)
    ranges = parse_ranges(request.query_params.multi_items(), dim=model.latent_dim, bound=settings.z_bound)
    check_images(steps ** len(ranges), settings.max_images)
    z = latent.grid(parse_base(base, dim=model.latent_dim, bound=settings.z_bound), ranges, steps)
    return answer(request, model, settings, functools.partial(picture, decoder, model, z, steps))


@router.get("/traverse", response_class=PNGResponse, responses=IMAGE, summary="Factors of variation")
async def traverse(
    request: Request,
    model: ModelDep,
    settings: SettingsDep,
    decoder: DecoderDep,
    base: Base = None,
    span: Annotated[
        float, Query(ge=0, description="each row sweeps base[k]-span .. base[k]+span")
    ] = VIEW.traverse_span,
    steps: Steps = VIEW.traverse_steps,
) -> Response:
    """One row per latent dimension, each sweeping that dimension around `base`."""
    check_cap("steps", steps, settings.max_steps)
    if not span <= settings.z_bound:
        raise invalid(f"span={span} is beyond the bound; expected 0 <= span <= {settings.z_bound:g}")
    check_images(model.latent_dim * steps, settings.max_images)
    z = latent.traverse(parse_base(base, dim=model.latent_dim, bound=settings.z_bound), span, steps)
    return answer(request, model, settings, functools.partial(picture, decoder, model, z, steps))


@router.get(
    "/interpolate",
    response_class=PNGResponse,
    summary="A path between two latent vectors",
    responses={**IMAGE, 200: {"content": {"image/gif": {}}, "description": "a PNG strip or a GIF"}},
)
async def interpolate(
    request: Request,
    model: ModelDep,
    settings: SettingsDep,
    decoder: DecoderDep,
    start: Annotated[str, Query(alias="from", description=f"where the path starts: {Z}")],
    to: Annotated[str, Query(description=f"where the path ends: {Z}")],
    steps: Steps = VIEW.interpolate_steps,
    method: Literal["linear", "slerp"] = "linear",
    format: Literal["png", "gif", "json"] = "png",
    size: Annotated[
        int | None, Query(ge=1, description="each image's edge in pixels, nearest neighbour (at most 512 by "
                          "default); default the model's own, 28")
    ] = None,
) -> Response:
    """A strip of `steps` images from `from` to `to`, a looping GIF that goes there and back (one frame
    every 100 ms, as the page plays it), or as JSON the path's latent vectors (`{"path": [[...], ...]}`)."""
    check_cap("steps", steps, settings.max_steps)
    check_images(steps, settings.max_images)
    if size is not None:
        check_cap("size", size, settings.max_size)
    a = parse_vector(start, dim=model.latent_dim, bound=settings.z_bound, name="from")
    b = parse_vector(to, dim=model.latent_dim, bound=settings.z_bound, name="to")
    path = latent.interpolate(a, b, steps, method)

    def animate() -> bytes:
        frames = render.to_uint8(latent.there_and_back(decoder.many(model, path)))
        return render.gif(frames, duration_ms=VIEW.frame_ms, size=size)

    if format == "json":
        return JSONResponse({"path": [[round(v, 6) for v in row] for row in path.tolist()]})
    if format == "gif":
        return answer(request, model, settings, animate, GIFResponse.media_type)
    return answer(request, model, settings, functools.partial(picture, decoder, model, path, steps, size))
