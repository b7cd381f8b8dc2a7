"""Uploaded images: /reconstruct and /encode (a multipart field `image` or a raw image/* body)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from server import render
from server.deps import DecoderDep, ModelDep, SettingsDep
from server.responses import UPLOAD_ERRORS, PNGResponse, json_doc, wants_json
from server.schemas import Encoding, Reconstruction
from server.uploads import load_input

router = APIRouter(tags=["upload"])

UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {"type": "object", "properties": {"image": {"type": "string", "format": "binary"}}}
        },
        "image/*": {"schema": {"type": "string", "format": "binary"}},
    },
}


@router.post(
    "/reconstruct",
    response_class=PNGResponse,
    summary="Reconstruct an uploaded image",
    openapi_extra={"requestBody": UPLOAD_BODY},
    responses={
        **UPLOAD_ERRORS,
        200: {
            **json_doc(Reconstruction, "PNG, or JSON when asked for"),
            "content": {"image/png": {}, **json_doc(Reconstruction, "")["content"]},
        },
    },
)
async def reconstruct(
    request: Request, model: ModelDep, settings: SettingsDep, decoder: DecoderDep
) -> Response:
    """The upload is preprocessed like MNIST, encoded, and its mean decoded. Send
    `Accept: application/json` for the encoding and both images as data URLs."""
    shown = decoder.reconstruct(model, await load_input(request, settings, model))
    out = render.image_png(shown.image)
    vary = {"Vary": "Accept"}
    if not wants_json(request):
        return PNGResponse(out, headers=vary)
    body = Reconstruction(
        mean=shown.mean[0].tolist(),
        logvar=shown.logvar[0].tolist(),
        input=render.data_url(render.image_png(shown.input)),
        reconstruction=render.data_url(out),
    )
    return JSONResponse(body.model_dump(), headers=vary)


@router.post(
    "/encode",
    response_model=Encoding,
    summary="Encode an uploaded image",
    openapi_extra={"requestBody": UPLOAD_BODY},
    responses=UPLOAD_ERRORS,
)
async def encode(request: Request, model: ModelDep, settings: SettingsDep, decoder: DecoderDep) -> Encoding:
    """The same upload as /reconstruct; answers the mean and log-variance of q(z|x)."""
    mean, logvar = decoder.encode(model, await load_input(request, settings, model))
    return Encoding(mean=mean[0].tolist(), logvar=logvar[0].tolist())
