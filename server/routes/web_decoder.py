"""GET /decoder.onnx: a model's decoder for the page to run in the browser (server.web_decoder).

The page asks for `?model=<name>&v=<checksum>`: with the weights' checksum in the URL the file can
be cached for a year (`immutable`), since new weights get a new URL. Without `v`, or with another
one, it is cached like the API's images. Either way the ETag follows the weights' checksum, and
If-None-Match answers 304 without exporting anything.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response

from server.deps import ModelDep, SettingsDep
from server.responses import BAD_INPUT, CACHED, cache_headers, not_modified
from server.web_decoder import DecoderUnavailable, WebDecoders, version

router = APIRouter(tags=["api"])

YEAR = 365 * 24 * 3600
ONNX = "application/octet-stream"  # no registered media type for ONNX


@router.get(
    "/decoder.onnx",
    summary="The model's decoder as ONNX, for decoding in the browser",
    response_class=Response,
    responses={**CACHED, **BAD_INPUT, 200: {"content": {ONNX: {}}, "description": "ONNX: z (N, latent_dim) "
                                            "-> pixel probabilities (N, C, H, W)"}},
)
async def decoder_file(
    request: Request,
    model: ModelDep,
    settings: SettingsDep,
    v: Annotated[str | None, Query(max_length=64, description="the weights' checksum, from the page")] = None,
) -> Response:
    headers = cache_headers(request, f"{model.identity}/web-decoder", settings.cache_max_age)
    if v and v == version(model):
        headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    if fresh := not_modified(request, headers):
        return fresh
    files: WebDecoders | None = getattr(request.app.state, "web_decoders", None)
    if files is None:
        raise HTTPException(503, detail="the models are not loaded yet")
    try:
        body = await files.get(model)
    except DecoderUnavailable as e:
        raise HTTPException(404, detail=str(e)) from None
    return Response(body, media_type=ONNX, headers=headers)
