"""Uploaded images: /reconstruct and /encode (a multipart field `image` or a raw image/* body)."""

from __future__ import annotations

import torch
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from server import render
from server.deps import ModelDep, SettingsDep
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
async def reconstruct(request: Request, vae: ModelDep, settings: SettingsDep) -> Response:
    """The upload is preprocessed like MNIST, encoded, and its mean decoded. Send
    `Accept: application/json` for the encoding and both images as data URLs."""
    x = await load_input(request, settings, vae)
    with torch.inference_mode():
        mean, logvar, recon = vae.reconstruct(x)
    out = render.image_png(recon)
    vary = {"Vary": "Accept"}
    if not wants_json(request):
        return PNGResponse(out, headers=vary)
    body = Reconstruction(
        mean=mean[0].tolist(),
        logvar=logvar[0].tolist(),
        input=render.data_url(render.image_png(x)),
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
async def encode(request: Request, vae: ModelDep, settings: SettingsDep) -> Encoding:
    """The same upload as /reconstruct; answers the mean and log-variance of q(z|x)."""
    x = await load_input(request, settings, vae)
    with torch.inference_mode():
        mean, logvar = vae.encode(x)
    return Encoding(mean=mean[0].tolist(), logvar=logvar[0].tolist())
