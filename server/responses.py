"""Response plumbing shared by the endpoints: image response classes, ETag + Cache-Control for
deterministic answers (and 304 on If-None-Match), Accept negotiation, OpenAPI docs of errors."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel

from server.schemas import ErrorDetail

VERSION = "0.1.0"  # part of every ETag: a new release never serves a stale image


class PNGResponse(Response):
    media_type = "image/png"


class GIFResponse(Response):
    media_type = "image/gif"


def json_doc(model: type[BaseModel], description: str) -> dict[str, Any]:
    """An OpenAPI response of JSON `model`, whatever the route's own media type is (FastAPI files a
    response's `model` under the route's media type, which is image/png on image routes)."""
    return {
        "description": description,
        "content": {"application/json": {"schema": model.model_json_schema()}},
    }


def _error(description: str) -> dict[str, Any]:
    return json_doc(ErrorDetail, description)


Responses = dict[int | str, dict[str, Any]]
BAD_INPUT: Responses = {
    404: _error("unknown model"),
    422: _error("a parameter is malformed, out of bounds or beyond a cap"),
}
UPLOAD_ERRORS: Responses = {
    **BAD_INPUT,
    413: _error("the upload is larger than the byte or pixel cap"),
    415: _error("not an image, or an image format that is not accepted"),
}
CACHED: Responses = {304: {"description": "not modified: the If-None-Match ETag is still current"}}


def etag(request: Request, identity: str) -> str:
    """A strong ETag from what determines the answer: app version, model, path and query."""
    scope = request.scope
    parts = (VERSION.encode(), identity.encode(), scope["path"].encode(), scope["query_string"])
    digest = hashlib.blake2b(b"\0".join(parts), digest_size=12).hexdigest()
    return f'"{digest}"'


def _matches(if_none_match: str | None, tag: str) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or tag in tags


def cache_headers(request: Request, identity: str, max_age: int) -> dict[str, str]:
    """ETag and Cache-Control of a deterministic answer."""
    return {"ETag": etag(request, identity), "Cache-Control": f"public, max-age={max_age}"}


def not_modified(request: Request, headers: dict[str, str]) -> Response | None:
    """A 304 when the client already has this answer (its If-None-Match holds our ETag), else None."""
    if _matches(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return None


def cached(
    request: Request,
    identity: str,
    render: Callable[[], bytes],
    *,
    media_type: str,
    max_age: int,
) -> Response:
    """Answer with render()'s bytes, or 304 without rendering when the client already has them."""
    headers = cache_headers(request, identity, max_age)
    return not_modified(request, headers) or Response(render(), media_type=media_type, headers=headers)


def _best_q(header: str, rank: Callable[[str], int]) -> float:
    """The q value of the most specific item of an Accept-style `header` that `rank` recognises
    (higher: more specific; -1: not this one), 0 when none is."""
    best, best_rank = 0.0, -1
    for item in header.split(","):
        name, *params = (p.strip() for p in item.split(";"))
        r = rank(name.lower())
        if r > best_rank:
            q = next((p[2:] for p in params if p.startswith("q=")), "1")
            try:
                best, best_rank = float(q), r
            except ValueError:
                continue
    return best


def _quality(accept: str, media_type: str) -> float:
    """The q value `accept` gives `media_type` (exact, type/* or */*), 0 when not acceptable."""
    ranks = {media_type: 2, f"{media_type.split('/')[0]}/*": 1, "*/*": 0}
    return _best_q(accept, lambda name: ranks.get(name, -1))


def wants_json(request: Request) -> bool:
    """JSON when the client prefers application/json over image/png; PNG on a tie or no header."""
    accept = request.headers.get("accept", "")
    return "json" in accept and _quality(accept, "application/json") > _quality(accept, "image/png")


def accepts_encoding(header: str, coding: str) -> bool:
    """Whether an Accept-Encoding `header` allows `coding` (by name, else by `*`) with q above 0."""
    ranks = {coding: 1, "*": 0}
    return _best_q(header, lambda name: ranks.get(name, -1)) > 0


def accepts_gzip(request: Request) -> bool:
    """Whether Accept-Encoding allows gzip (by name, else by `*`) with a q value above 0."""
    return accepts_encoding(request.headers.get("accept-encoding", ""), "gzip")
