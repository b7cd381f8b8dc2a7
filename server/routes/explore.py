"""Insight endpoints: where the whole test set lands in latent space, and its original images."""

from __future__ import annotations

import csv
import gzip as gzip_module
import io
import json
from typing import Annotated, Any, Literal

import numpy as np
import torch
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field

from model.card import ModelCard
from model.data import DataError
from model.encodings import FORMAT_VERSION, EncodingCache, EncodingsUnavailable, Entry
from model.factors import FactorsError
from server import map_points
from server.deps import DecoderDep, EncodingsDep, ModelDep, SettingsDep, require_encoder
from server.map_points import MAX_ATLAS
from server.registry import LoadedModel
from server.render import png
from server.responses import BAD_INPUT, CACHED, PNGResponse, accepts_gzip, cached, json_doc
from server.schemas import ErrorDetail, invalid

router = APIRouter(tags=["explore"])

MEDIA_TYPES = {
    "json": "application/json", "csv": "text/csv; charset=utf-8", "binary": "application/octet-stream",
}
Split = Annotated[Literal["test", "train"], Query(description="which split of the data set: test or train")]
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
        {200: {"model": EncodingsOut, "content": {"text/csv": {}, "application/octet-stream": {}},
               "description": "JSON, CSV, or the map's binary form (`format`)"}},
        BAD_INPUT, CACHED, NOT_FOUND,
    ),
)
def encodings(
    model: ModelDep,
    cache: EncodingsDep,
    settings: SettingsDep,
    request: Request,
    format: Annotated[
        Literal["json", "csv", "binary"],
        Query(description="json, csv with a header row, or binary: the map's compact form of every split "
                          "on the machine (test, then train), described in server/map_points.py"),
    ] = "json",
) -> Response:
    """The test split, gzipped when the client accepts it: the 10,000 means of a 10-D model are
    0.9 MB of JSON. `binary` holds the training split too when it is on the machine: 70,000 means
    of a 10-D model in 1.2 MB gzipped."""
    gzip = accepts_gzip(request)
    # deterministic per model (and the app version; for binary, the splits on the machine); the
    # gzipped body is another representation, with another ETag
    splits = "+".join(_splits(cache, model)) if format == "binary" else "test"
    identity = f"{model.identity}/encodings-v{FORMAT_VERSION}/{splits}{'/gzip' * gzip}"
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
    index: Annotated[int, Path(ge=0, description="position in the split, as in /encodings")],
    model: ModelDep,
    cache: EncodingsDep,
    settings: SettingsDep,
    request: Request,
    split: Split = "test",
) -> Response:
    return cached(
        request, f"{model.identity}/{split}-images",
        lambda: png(_images(cache, model, split, [index])[0]),
        media_type="image/png", max_age=settings.cache_max_age,
    )


@router.get(
    "/encodings/atlas.png",
    summary="Many of the map's images in one PNG: the originals, or the decoded means",
    response_class=PNGResponse,
    responses=_docs(BAD_INPUT, CACHED, NOT_FOUND),
)
def atlas(
    model: ModelDep,
    cache: EncodingsDep,
    settings: SettingsDep,
    decoder: DecoderDep,
    request: Request,
    indices: Annotated[
        str, Query(description=f"comma-separated positions in the split, at most {MAX_ATLAS}")
    ],
    split: Split = "test",
    kind: Annotated[
        Literal["original", "decoded"], Query(description="the data set's image, or the decoded mean")
    ] = "original",
) -> Response:
    """Tiles in the order asked, 16 a row: the images the map draws in place of its dots."""
    wanted = _indices(indices)

    def draw() -> bytes:
        if kind == "original":
            return map_points.atlas(map_points.as_images(_images(cache, model, split, wanted)))
        means = _entry(cache, model, split).encodings.means
        _check_range(wanted, len(means), split)
        return map_points.atlas(decoder.many(model, torch.from_numpy(means[wanted].astype(np.float32))))

    return cached(request, f"{model.identity}/{split}-atlas", draw, media_type="image/png",
                  max_age=settings.cache_max_age)


def _indices(text: str) -> list[int]:
    parts = text.split(",")
    if not 1 <= len(parts) <= MAX_ATLAS or not all(p.strip().isdigit() for p in parts):
        raise invalid(f"indices={text[:40]!r} is not 1 to {MAX_ATLAS} comma-separated whole numbers >= 0")
    return [int(p) for p in parts]


def _check_range(indices: list[int], n: int, split: str) -> None:
    if (index := max(indices)) >= n:
        detail = f"index {index} is out of range: the {split} set has {n} images, 0..{n - 1}"
        raise HTTPException(404, detail=detail)


def _splits(cache: EncodingCache, model: LoadedModel) -> list[str]:
    """The splits the map shows: test, and train when it is on the machine."""
    return ["test", *(["train"] if cache.has_split(model.card, "train") else [])]


def _entry(cache: EncodingCache, model: LoadedModel, split: str = "test") -> Entry:
    require_encoder(model, "encode its data set for the map")
    try:
        return cache.get(model.vae, model.card, split)
    except EncodingsUnavailable as e:
        raise HTTPException(404, detail=str(e)) from None


@router.get(
    "/encodings/factors",
    summary="The factors of variation of the map's points, for colouring them",
    responses=_docs(BAD_INPUT, CACHED, NOT_FOUND),
)
def factor_codes(model: ModelDep, cache: EncodingsDep, settings: SettingsDep, request: Request) -> Response:
    """For a model trained on a folder with a factors.csv (docs/shapes.md): each factor's name, its
    values' labels, and each point's value code, split by split in the order of `/encodings?format=binary`."""
    require_encoder(model, "encode its data set for the map")

    def body() -> bytes:
        try:
            splits = _splits(cache, model)
            found = {split: cache.factors(model.card, split) for split in splits}
        except (EncodingsUnavailable, FactorsError, DataError) as e:
            raise HTTPException(404, detail=str(e)) from None
        if any(f is None for f in found.values()):
            raise HTTPException(404, detail=f"{model.name}'s data has no factors.csv")
        table = next(iter(found.values()))[0]  # type: ignore[index]
        return json.dumps({
            "factors": [{"name": n, "labels": table.labels[j]} for j, n in enumerate(table.names)],
            "splits": [{"name": split, "codes": f[1].T.tolist()} for split, f in found.items()],  # type: ignore[index]
        }, separators=(",", ":")).encode()

    return cached(request, f"{model.identity}/factors", body, media_type="application/json",
                  max_age=settings.cache_max_age)


def _export(cache: EncodingCache, model: LoadedModel, fmt: str, *, gzip: bool = False) -> bytes:
    """The body in `fmt`, gzipped or not, rendered once per model and kept with its encodings."""
    entry = _entry(cache, model)
    if fmt == "binary" and fmt not in entry.exports:
        splits = {split: _entry(cache, model, split) for split in _splits(cache, model)}
        entry.exports[fmt] = map_points.pack(model.name, splits, model.card.classes)
    if fmt not in entry.exports:
        entry.exports[fmt] = RENDERERS[fmt](entry, model.card)
    if gzip and f"{fmt}.gz" not in entry.exports:
        entry.exports[f"{fmt}.gz"] = gzip_module.compress(entry.exports[fmt], 6, mtime=0)
    return entry.exports[f"{fmt}.gz" if gzip else fmt]


def _images(cache: EncodingCache, model: LoadedModel, split: str, indices: list[int]) -> np.ndarray:
    try:
        purpose = f"no original images for {model.name}"
        images = cache.split(model.card, split, purpose=purpose).images
    except EncodingsUnavailable as e:
        raise HTTPException(404, detail=str(e)) from None
    _check_range(indices, len(images), split)
    return images[indices]


def _plain(a: np.ndarray) -> Any:
    """The shortest decimals that round-trip in a's dtype: float16 0.1 -> 0.1, not 0.0999755859375."""
    return a.astype(str).astype(np.float64).tolist()


def to_json(entry: Entry, card: ModelCard) -> bytes:
    name = card.name
    enc, pca = entry.encodings, entry.pca
    body = {
        "model": name,
        "dataset": enc.dataset,
        "latent_dim": enc.latent_dim,
        "count": enc.count,
        "sha256": enc.checksum,
        "class_names": card.classes,
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


def to_csv(entry: Entry, card: ModelCard) -> bytes:
    enc = entry.encodings
    names = card.classes
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["index", "label", "class_name", *(f"z{i}" for i in range(enc.latent_dim))])
    for i, (label, row) in enumerate(zip(enc.labels.tolist(), enc.means.astype(str).tolist(), strict=True)):
        writer.writerow([i, label, names[label] if label < len(names) else "", *row])
    return buf.getvalue().encode()


RENDERERS = {"json": to_json, "csv": to_csv}
