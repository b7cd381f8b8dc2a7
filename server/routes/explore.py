"""Insight endpoints: where the whole test set lands in latent space, and its original images."""

from __future__ import annotations

import csv
import gzip as gzip_module
import io
import json
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field

from model.data import CLASS_NAMES
from model.encodings import FORMAT_VERSION, EncodingCache, EncodingsUnavailable, Entry
from server.deps import EncodingsDep, ModelDep, SettingsDep
from server.registry import LoadedModel
from server.render import png
from server.responses import BAD_INPUT, CACHED, PNGResponse, accepts_gzip, cached, json_doc
from server.schemas import ErrorDetail

router = APIRouter(tags=["explore"])

MEDIA_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8"}
NOT_FOUND = {404: json_doc(ErrorDetail, "unknown model, or no cache and no test set")}


def _docs(*parts: dict[Any, Any]) -> dict[int | str, dict[str, Any]]:
    """Merge the OpenAPI response docs; later parts win."""
    return {code: doc for part in parts for code, doc in part.items()}


class PCAOut(BaseModel):
    components: list[list[float]] = Field(description="(2, latent_dim): orthonormal rows, PC1 first")
    mean: list[float] = Field(description="(latent_dim,): subtract before projecting onto components")
    explained_variance_ratio: list[float] = Field(description="share of the means' variance per component")
    points: list[list[float]] = Field(description="(count, 2): the means projected onto the plane")


class EncodingsOut(BaseModel):
    model: str
    dataset: str
    latent_dim: int
    count: int
    sha256: str = Field(description="checksum of the weights the means were computed with")
    class_names: list[str] = Field(description="class_names[label] names a label")
    labels: list[int] = Field(description="(count,): the class of each test image")
    means: list[list[float]] = Field(description="(count, latent_dim): encoder mean per test image")
    pca: PCAOut | None = Field(description="2-D projection when latent_dim > 2, else null")


@router.get(
    "/encodings",
    summary="The latent means of the model's whole test set, with labels",
    response_model=None,
    responses=_docs(
        {200: {"model": EncodingsOut, "content": {"text/csv": {}}, "description": "JSON or CSV"}},
        BAD_INPUT, CACHED, NOT_FOUND,
    ),
)
def encodings(
    model: ModelDep,
    cache: EncodingsDep,
    settings: SettingsDep,
    request: Request,
    format: Annotated[Literal["json", "csv"], Query(description="json, or csv with a header row")] = "json",
) -> Response:
    """Gzipped when the client accepts it: the 10,000 means of a 10-D model are 0.9 MB of JSON."""
    gzip = accepts_gzip(request)
    # deterministic per model (and the app version); the gzipped body is another representation,
    # with another ETag
    identity = f"{model.identity}/encodings-v{FORMAT_VERSION}{'/gzip' * gzip}"
    response = cached(
        request, identity, lambda: _export(cache, model, format, gzip=gzip), media_type=MEDIA_TYPES[format],
        max_age=settings.cache_max_age,
    )
    response.headers["Vary"] = "Accept-Encoding"
    if gzip and response.status_code == 200:
        response.headers["Content-Encoding"] = "gzip"
    if format == "csv":
        response.headers["Content-Disposition"] = f'attachment; filename="{model.name}-encodings.csv"'
    return response


@router.get(
    "/encodings/{index}/original.png",
    summary="The original test image behind one point of the latent map",
    response_class=PNGResponse,
    responses=_docs(BAD_INPUT, CACHED, NOT_FOUND),
)
def original(
    index: Annotated[int, Path(ge=0, description="position in the test set, as in /encodings")],
    model: ModelDep,
    cache: EncodingsDep,
    settings: SettingsDep,
    request: Request,
) -> Response:
    return cached(
        request, f"{model.identity}/test-images", lambda: png(_test_image(cache, model, index)),
        media_type="image/png", max_age=settings.cache_max_age,
    )


def _export(cache: EncodingCache, model: LoadedModel, fmt: str, *, gzip: bool = False) -> bytes:
    """The body in `fmt`, gzipped or not, rendered once per model and kept with its encodings."""
    try:
        entry = cache.get(model.vae, model.card)
    except EncodingsUnavailable as e:
        raise HTTPException(404, detail=str(e)) from None
    if fmt not in entry.exports:
        entry.exports[fmt] = RENDERERS[fmt](entry, model.name)
    if gzip and f"{fmt}.gz" not in entry.exports:
        entry.exports[f"{fmt}.gz"] = gzip_module.compress(entry.exports[fmt], 6, mtime=0)
    return entry.exports[f"{fmt}.gz" if gzip else fmt]


def _test_image(cache: EncodingCache, model: LoadedModel, index: int) -> np.ndarray:
    try:
        purpose = f"no original images for {model.name}"
        images = cache.test_split(model.card.dataset or "", purpose=purpose).images
    except EncodingsUnavailable as e:
        raise HTTPException(404, detail=str(e)) from None
    if index >= (n := len(images)):
        detail = f"index {index} is out of range: the test set has {n} images, 0..{n - 1}"
        raise HTTPException(404, detail=detail)
    return images[index]


def _plain(a: np.ndarray) -> Any:
    """The shortest decimals that round-trip in a's dtype: float16 0.1 -> 0.1, not 0.0999755859375."""
    return a.astype(str).astype(np.float64).tolist()


def to_json(entry: Entry, name: str) -> bytes:
    enc, pca = entry.encodings, entry.pca
    body = {
        "model": name,
        "dataset": enc.dataset,
        "latent_dim": enc.latent_dim,
        "count": enc.count,
        "sha256": enc.checksum,
        "class_names": CLASS_NAMES[enc.dataset],
        "labels": enc.labels.tolist(),
        "means": _plain(enc.means),
        "pca": None if pca is None else {
            "components": _plain(pca.components),
            "mean": _plain(pca.mean),
            "explained_variance_ratio": _plain(pca.explained),
            "points": _plain(pca.project(enc.means).astype(np.float16)),
        },
    }
    return json.dumps(body, separators=(",", ":")).encode()


def to_csv(entry: Entry, name: str) -> bytes:
    enc = entry.encodings
    names = CLASS_NAMES[enc.dataset]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["index", "label", "class_name", *(f"z{i}" for i in range(enc.latent_dim))])
    for i, (label, row) in enumerate(zip(enc.labels.tolist(), enc.means.astype(str).tolist(), strict=True)):
        writer.writerow([i, label, names[label], *row])
    return buf.getvalue().encode()


RENDERERS = {"json": to_json, "csv": to_csv}
